"""Render examples with the tokenizer's chat template, label assistant tokens only, and check
everything that commonly breaks a run before a single step is paid for (the pre-flight check).

Labels come from the template's ``{% generation %}`` markers (``return_assistant_tokens_mask``),
so the mask is what the template really renders; the end-of-turn token must be inside it or the
model never learns to stop.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field

from .config import TrainConfig
from .errors import TrainerError

IGNORE = -100


@dataclass
class Preflight:
    """What the check found; stored as ``preflight.json`` and printed before training."""

    ok: bool = True
    eot_token: str = ""
    system_prompt: str | None = None
    max_seq_length: int = 0
    overlength_policy: str = "drop"
    examples: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    empty_mask: int = 0
    missing_eot: int = 0
    system_prompt_mismatch: int = 0
    system_prompt_not_rendered: int = 0
    overlength: int = 0
    truncated: int = 0
    dropped: int = 0
    tokens: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    first_bad: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [f"pre-flight: {'OK' if self.ok else 'REFUSED'} "
               f"({', '.join(f'{k} {v}' for k, v in self.examples.items())} examples)",
               f"  end-of-turn token {self.eot_token!r} inside the assistant mask: "
               f"{'yes' if not self.missing_eot else f'missing in {self.missing_eot}'}; "
               f"empty assistant masks: {self.empty_mask}",
               f"  system prompt (as served): {self.system_prompt!r}; mismatching examples "
               f"{self.system_prompt_mismatch}, not rendered by the template {self.system_prompt_not_rendered}",
               f"  length vs max_seq_length {self.max_seq_length}: {self.overlength} over "
               f"(policy {self.overlength_policy}: {self.truncated} truncated, {self.dropped} dropped, "
               "a truncated answer loses its end-of-turn token); tokens "
               + ", ".join(f"{k} {v:g}" for k, v in self.tokens.items())]
        out += [f"  problem: {p}" for p in self.problems]
        return out


def eot_token(tokenizer) -> str:
    """The token that ends an assistant turn: the special token the chat template renders right
    after an assistant message (``<|im_end|>``, ``<|eot_id|>``, ``</s>``…); failing that, a known
    end-of-turn token in the vocabulary, else the eos token."""
    probe = "PROBE_ANSWER_7f3a"
    try:
        text = tokenizer.apply_chat_template([{"role": "user", "content": "hi"},
                                              {"role": "assistant", "content": probe}], tokenize=False)
        ids = tokenizer(text.split(probe, 1)[1], add_special_tokens=False)["input_ids"]
        if ids and ids[0] in tokenizer.added_tokens_decoder and tokenizer.added_tokens_decoder[ids[0]].special:
            return tokenizer.convert_ids_to_tokens(ids[0])
    except Exception:  # noqa: BLE001 - a template that cannot render this probe: fall back below
        pass
    for candidate in ("<|im_end|>", "<|eot_id|>", "<end_of_turn>"):
        if candidate in tokenizer.get_vocab():
            return candidate
    if tokenizer.eos_token is None:
        raise TrainerError("the tokenizer has no eos token and no known end-of-turn token")
    return tokenizer.eos_token


def with_system(messages: list[dict], system_prompt: str | None) -> list[dict]:
    """Insert the serving system prompt where an example has none (the same in training and serving)."""
    if system_prompt is None or (messages and messages[0]["role"] == "system"):
        return messages
    return [{"role": "system", "content": system_prompt}, *messages]


def prompt_and_reference(messages: list[dict], system_prompt: str | None) -> tuple[list[dict], str]:
    """Everything before the last assistant turn (the prompt) and that turn (the reference)."""
    messages = with_system(messages, system_prompt)
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return messages[:last], messages[last]["content"]


def _render(tokenizer, messages: list[dict]) -> tuple[list[int], list[int]]:
    try:
        out = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=True)
    except Exception as exc:  # jinja errors, missing template: say which and stop
        raise TrainerError(f"the tokenizer's chat template failed to render an example: {exc}") from None
    return list(out["input_ids"]), list(out["assistant_masks"])


def tokenize_split(tokenizer, examples: list[list[dict]], config: TrainConfig, split: str,
                   report: Preflight) -> list[dict]:
    """Rows of ``input_ids``/``labels`` for one split, counting every problem into ``report``."""
    eot_id = tokenizer.convert_tokens_to_ids(report.eot_token)
    rows, lengths = [], []
    for index, messages in enumerate(examples):
        messages = with_system(messages, config.system_prompt)
        bad = []
        if messages[0]["role"] == "system" and config.system_prompt is not None \
                and messages[0]["content"] != config.system_prompt:
            report.system_prompt_mismatch += 1
            bad.append("system prompt differs from the serving one")
        ids, mask = _render(tokenizer, messages)
        system = messages[0]["content"] if messages[0]["role"] == "system" else None
        if system and system not in tokenizer.decode(ids):
            report.system_prompt_not_rendered += 1
            bad.append("the template does not render the system message")
        if not any(mask):
            report.empty_mask += 1
            bad.append("assistant mask is empty")
        elif not any(m and t == eot_id for t, m in zip(ids, mask)):
            report.missing_eot += 1
            bad.append(f"end-of-turn token {report.eot_token!r} is outside the assistant mask")
        if bad and len(report.first_bad) < 3:
            report.first_bad.append({"split": split, "index": index, "why": bad,
                                     "rendered": tokenizer.decode(ids)[-300:]})
        lengths.append(len(ids))
        if len(ids) > config.max_seq_length:
            report.overlength += 1
            if config.overlength == "drop":
                report.dropped += 1
                continue
            ids, mask = ids[:config.max_seq_length], mask[:config.max_seq_length]
            if not any(mask):  # the cut took the whole answer: nothing left to learn
                report.dropped += 1
                continue
            report.truncated += 1
        rows.append({"input_ids": ids, "labels": [t if m else IGNORE for t, m in zip(ids, mask)]})
    report.examples[split] = len(examples)
    report.kept[split] = len(rows)
    if lengths:
        ordered = sorted(lengths)
        report.tokens[f"{split}_p50"] = statistics.median(ordered)
        report.tokens[f"{split}_max"] = ordered[-1]
    return rows


def preflight_and_tokenize(tokenizer, splits: dict[str, list[list[dict]]],
                           config: TrainConfig) -> tuple[Preflight, dict[str, list[dict]]]:
    """Tokenize train and validation; decide whether the run may start."""
    report = Preflight(eot_token=eot_token(tokenizer), max_seq_length=config.max_seq_length,
                       overlength_policy=config.overlength, system_prompt=config.system_prompt)
    if not getattr(tokenizer, "chat_template", None):
        report.ok = False
        report.problems.append("the tokenizer has no chat template")
        return report, {}
    if config.system_prompt is None:
        found = {m[0]["content"] for s in splits.values() for m in s if m and m[0]["role"] == "system"}
        if len(found) > 1:
            report.problems.append(f"examples carry {len(found)} different system prompts; set system_prompt "
                                   "in the config to the one serving will use")
        report.system_prompt = next(iter(found)) if len(found) == 1 else None
        # train with the prompt that evaluation and serving (Modelfile) will use
        config = config.model_copy(update={"system_prompt": report.system_prompt})
    rows = {name: tokenize_split(tokenizer, splits[name], config, name, report)
            for name in ("train", "validation")}
    # the test split is generated from, not trained on, but its prompts must render the same way
    for messages in splits.get("test", []):
        prompt, _ = prompt_and_reference(messages, config.system_prompt)
        if prompt and prompt[0]["role"] == "system" and config.system_prompt is not None \
                and prompt[0]["content"] != config.system_prompt:
            report.system_prompt_mismatch += 1
    if report.empty_mask:
        report.problems.append(f"{report.empty_mask} examples have an empty assistant mask: the chat template "
                               "lacks {% generation %} … {% endgeneration %} around assistant content, so "
                               "nothing would be learned")
    if report.missing_eot:
        report.problems.append(f"{report.missing_eot} examples have the end-of-turn token {report.eot_token!r} "
                               "outside the assistant mask: put it inside {% generation %}, or the model never "
                               "learns to stop")
    if report.system_prompt_mismatch:
        report.problems.append(f"{report.system_prompt_mismatch} examples carry a system prompt different from "
                               f"the serving one {config.system_prompt!r}")
    if report.system_prompt_not_rendered:
        report.problems.append(f"the chat template drops the system message in "
                               f"{report.system_prompt_not_rendered} examples")
    if rows and not rows["train"]:
        report.problems.append("no training example is left after the over-length policy")
    report.ok = not report.problems
    return report, rows
