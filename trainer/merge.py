"""Merge the adapter into a full-precision base for deployment, and write what serving needs:
an Ollama ``Modelfile`` and the exact ``vllm serve`` command.

Merging into the 4-bit model would bake quantisation error into the weights and change
generations; the base is reloaded in fp32 and the adapter attached to it instead.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from .config import TrainConfig
from .data import eot_token
from .model import full_dtype, load_base


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
    return out_dir


def _quoted(text: str) -> str:
    return '"""' + text.replace('"""', '\\"\\"\\"') + '"""'


def modelfile(merged_dir: Path, config: TrainConfig, tokenizer, system_prompt: str | None) -> str:
    """Ollama imports a safetensors folder with ``FROM``; the chat template comes from its
    tokenizer config; the system prompt and sampling params are the training ones."""
    lines = [f"FROM {merged_dir.resolve()}"]
    if "<|im_start|>" in tokenizer.get_vocab():  # ChatML: spell the template out for older Ollama
        lines.append('TEMPLATE """{{ range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}'
                     '<|im_start|>assistant\n"""')
    if system_prompt:
        lines.append(f"SYSTEM {_quoted(system_prompt)}")
    lines += [f"PARAMETER temperature {config.temperature:g}", f"PARAMETER top_p {config.top_p:g}",
              f"PARAMETER num_ctx {config.max_seq_length}", f'PARAMETER stop "{eot_token(tokenizer)}"']
    return "\n".join(lines) + "\n"


def vllm_command(merged_dir: Path, served_name: str, config: TrainConfig) -> str:
    """vLLM reads the chat template from the tokenizer; clients send the system prompt."""
    return shlex.join(["vllm", "serve", str(merged_dir.resolve()), "--served-model-name", served_name,
                       "--max-model-len", str(config.max_seq_length), "--dtype", "bfloat16",
                       "--generation-config", "auto"])
