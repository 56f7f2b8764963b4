"""Merge the adapter into a full-precision base for deployment, write what serving needs (an
Ollama ``Modelfile`` whose template and stop tokens are read off the tokenizer's chat template,
and the exact ``vllm serve`` command naming the template file), and check the exported folder
answers the test prompts as the adapter did in evaluation (``export_parity``).

Merging into the 4-bit model would bake quantisation error into the weights and change
generations; the base is reloaded in fp32 and the adapter attached to it instead.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from .config import TrainConfig
from .data import eot_token
from .errors import TrainerError
from .model import full_dtype, load_base

CHAT_TEMPLATE_FILE = "chat_template.jinja"
ROLES = ("system", "user", "assistant")


def merge_adapter(base_model: str, adapter_dir: Path, out_dir: Path, config: TrainConfig, tokenizer) -> Path:
    """Base in full precision (fp32 on the CPU, bf16 on CUDA) + adapter -> ``merge_and_unload`` ->
    safetensors and tokenizer in ``out_dir``.

    ``merge_base: dequantized`` takes the base's 4-bit weights dequantised instead of the
    original ones: exactly the weights the adapter was trained against."""
    from peft import PeftModel

    if config.merge_base == "dequantized":
        base, quantized, _ = load_base(base_model, config)
        if quantized:
            base = base.dequantize().to(full_dtype())
    else:
        base, _, _ = load_base(base_model, config, quantize=False)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    eot_id = tokenizer.convert_tokens_to_ids(eot_token(tokenizer))
    merged.generation_config.eos_token_id = sorted({eot_id, tokenizer.eos_token_id} - {None})
    merged.generation_config.pad_token_id = tokenizer.pad_token_id
    merged.config.use_cache = True
    merged.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    if tokenizer.chat_template and not (Path(out_dir) / CHAT_TEMPLATE_FILE).is_file():
        (Path(out_dir) / CHAT_TEMPLATE_FILE).write_text(tokenizer.chat_template, encoding="utf-8")
    return out_dir


def _quoted(text: str) -> str:
    return '"""' + text.replace('"""', '\\"\\"\\"') + '"""'


def template_parts(tokenizer) -> dict:
    """What the chat template writes around each role's content, before the first message and to
    open the answer, read off by rendering a growing conversation of probe messages: each longer
    rendering must extend the previous one, and a role must be wrapped the same way each time it
    appears. A template that is not (it depends on position, or drops messages) raises, and the
    Modelfile then leaves the template to Ollama."""
    probes = [("system", "PROBE0"), ("user", "PROBE1"), ("assistant", "PROBE2"), ("user", "PROBE3"),
              ("assistant", "PROBE4")]
    conv = [{"role": r, "content": f"{c}_q7Zx"} for r, c in probes]

    def render(messages: list[dict], generation: bool = False) -> str:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation)

    try:
        previous = render([])
    except Exception:  # noqa: BLE001 - many templates refuse an empty conversation
        previous = ""
    parts: dict = {"preamble": previous}
    for k, message in enumerate(conv, 1):
        text = render(conv[:k])
        piece = text[len(previous):]
        before, found, after = piece.partition(message["content"])
        if not text.startswith(previous) or not found:
            raise TrainerError(f"the chat template renders message {k} inconsistently with the ones before it")
        if parts.setdefault(message["role"], (before, after)) != (before, after):
            raise TrainerError(f"the chat template wraps '{message['role']}' messages differently by position")
        previous = text
    parts["generation"] = render(conv[:4], True)[len(render(conv[:4])):]
    return parts


def _go_literal(text: str) -> str:
    return text.replace("{{", '{{ "{{" }}')


def ollama_template(parts: dict) -> str:
    """Ollama's Go template for the same rendering: the messages in order, each wrapped as the chat
    template wraps its role, then the answer's opening."""
    cases = [f'{"if" if i == 0 else "else if"} eq .Role "{role}" }}}}{_go_literal(parts[role][0])}{{{{ .Content }}}}'
             f"{_go_literal(parts[role][1])}{{{{ " for i, role in enumerate(ROLES)]
    return (_go_literal(parts["preamble"]) + "{{ range .Messages }}{{ " + "".join(cases) + "end }}{{ end }}"
            + _go_literal(parts["generation"]))


def ollama_messages(messages: list[dict], system: str | None) -> list[dict]:
    """The messages Ollama renders: the Modelfile's SYSTEM first when the request has none."""
    if system and not any(m["role"] == "system" for m in messages):
        return [{"role": "system", "content": system}, *messages]
    return messages


_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)


def _go_tokens(template: str) -> list[tuple[str, str]]:
    """The template as ("text", s) and ("action", s) tokens, ``{{-``/``-}}`` trimming applied."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    for m in _ACTION.finditer(template):
        text = template[pos:m.start()]
        if m.group(1):
            text = text.rstrip()
        if tokens and tokens[-1][0] == "trim":
            tokens.pop()
            text = text.lstrip()
        tokens.append(("text", text))
        tokens.append(("action", m.group(2)))
        if m.group(3):
            tokens.append(("trim", ""))
        pos = m.end()
    tail = template[pos:]
    if tokens and tokens[-1][0] == "trim":
        tokens.pop()
        tail = tail.lstrip()
    tokens.append(("text", tail))
    return tokens


def render_go_template(template: str, messages: list[dict]) -> str:
    """A faithful rendering of the subset of Go's text/template that ``ollama_template`` writes
    (``range .Messages``, ``if``/``else if eq .Role "x"``, ``else``, ``end``, ``.Content``,
    ``.Role``, string literals, ``{{-``/``-}}`` trimming), so a test can compare it with Jinja."""
    tokens = _go_tokens(template)

    def block(i: int, message: dict | None, stop: tuple[str, ...]) -> tuple[str, int]:
        out = []
        while i < len(tokens):
            kind, value = tokens[i]
            if kind == "text":
                out.append(value)
                i += 1
            elif value in stop or value.startswith("else") and "else" in stop:
                return "".join(out), i
            elif value == "range .Messages":
                end = i + 1
                for msg in messages:
                    text, end = block(i + 1, msg, ("end",))
                    out.append(text)
                if not messages:
                    _, end = block(i + 1, {"role": "", "content": ""}, ("end",))
                i = end + 1
            elif value.startswith("if "):
                text, i = _branches(i, message)
                out.append(text)
            elif value in (".Content", ".Role"):
                out.append(message["content" if value == ".Content" else "role"])
                i += 1
            elif value.startswith('"') and value.endswith('"'):
                out.append(value[1:-1])
                i += 1
            else:
                raise TrainerError(f"unsupported template action {{{{ {value} }}}}")
        return "".join(out), i

    def _branches(i: int, message: dict) -> tuple[str, int]:
        chosen, taken = "", False
        condition = tokens[i][1]
        while True:
            text, i = block(i + 1, message, ("end", "else"))
            if not taken and _holds(condition, message):
                chosen, taken = text, True
            action = tokens[i][1]
            if action == "end":
                return chosen, i + 1
            condition = action[len("else "):] if action.startswith("else if ") else "true"
            condition = condition[len("if "):] if condition.startswith("if ") else condition

    def _holds(condition: str, message: dict) -> bool:
        condition = condition[len("if "):] if condition.startswith("if ") else condition
        if condition == "true":
            return True
        match = re.fullmatch(r'eq \.Role "([^"]*)"', condition)
        if not match:
            raise TrainerError(f"unsupported condition {condition!r}")
        return message["role"] == match.group(1)

    return block(0, None, ())[0]


def stop_tokens(tokenizer, parts: dict | None) -> list[str]:
    """The special tokens that end an assistant turn in the template (what it writes right after
    the answer), then the end-of-turn token the trainer masked."""
    found = []
    if parts:
        for token_id in tokenizer(parts["assistant"][1], add_special_tokens=False)["input_ids"]:
            added = tokenizer.added_tokens_decoder.get(token_id)
            if added is not None and added.special:
                found.append(added.content)
    return list(dict.fromkeys([*found, eot_token(tokenizer)]))


def modelfile(merged_dir: Path, config: TrainConfig, tokenizer, system_prompt: str | None) -> str:
    """Ollama imports a safetensors folder with ``FROM``; ``TEMPLATE`` and the stop tokens are
    derived from the tokenizer's chat template (``template_parts``), so Ollama renders a
    conversation as training did; the system prompt and sampling params are the training ones."""
    lines = [f"FROM {merged_dir.resolve()}"]
    try:
        parts = template_parts(tokenizer)
        lines.append(f"TEMPLATE {_quoted(ollama_template(parts))}")
    except TrainerError as exc:  # Ollama then reads the template from the tokenizer config itself
        parts = None
        lines.append(f"# no TEMPLATE: {exc}; Ollama reads the chat template from the tokenizer")
    if system_prompt:
        lines.append(f"SYSTEM {_quoted(system_prompt)}")
    lines += [f"PARAMETER temperature {config.temperature:g}", f"PARAMETER top_p {config.top_p:g}",
              f"PARAMETER num_ctx {config.max_seq_length}"]
    lines += [f'PARAMETER stop "{token}"' for token in stop_tokens(tokenizer, parts)]
    return "\n".join(lines) + "\n"


def vllm_command(merged_dir: Path, served_name: str, config: TrainConfig) -> str:
    """The chat template file is named explicitly: vLLM then renders with the template training
    used, not whatever a tokenizer config or a vLLM default supplies. Clients send the system
    prompt."""
    merged = merged_dir.resolve()
    return shlex.join(["vllm", "serve", str(merged), "--served-model-name", served_name,
                       "--max-model-len", str(config.max_seq_length), "--dtype", "bfloat16",
                       "--chat-template", str(merged / CHAT_TEMPLATE_FILE), "--generation-config", "auto"])


def export_parity(merged_dir: Path, prompts: list[list[dict]], expected: list[str], train_tokenizer,
                  max_new_tokens: int, tolerance: float = 0.0) -> dict:
    """Load the exported folder fresh, as Ollama's import and vLLM would (``AutoTokenizer`` and
    ``AutoModelForCausalLM`` on the folder, nothing reused from training), render each test prompt
    with the folder's own chat template, answer greedily, and compare with ``expected``. ``ok``
    when the template renders every prompt as training did and at most ``tolerance`` of the
    prompts answer differently; the first difference is kept to show."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .evaluate import generate
    from .model import device

    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    rendered_differently = [i for i, p in enumerate(prompts)
                            if tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
                            != train_tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True)]
    model = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=full_dtype()).to(device())
    outputs = generate(model, tokenizer, prompts, max_new_tokens)
    del model
    differing = [i for i, (o, e) in enumerate(zip(outputs, expected)) if o != e]
    first = None
    if rendered_differently or differing:
        i = (rendered_differently or differing)[0]
        first = {"index": i, "prompt": prompts[i][-1]["content"], "expected": expected[i], "exported": outputs[i],
                 "template_differs": i in rendered_differently}
    return {"prompts": len(prompts), "matched": len(prompts) - len(differing), "tolerance": tolerance,
            "template_identical": not rendered_differently, "differing": differing,
            "ok": not rendered_differently and len(differing) <= tolerance * len(prompts),
            "first_difference": first, "outputs": outputs}
