"""Load the base model (local folder or hub id) in 4-bit nf4 when bitsandbytes can, attach LoRA.

4-bit works through bitsandbytes on CUDA and on its CPU backend; when neither is usable the run
falls back to plain LoRA on a full-precision base and says so (or fails with ``require_4bit``).
"""

from __future__ import annotations

import logging
import os

import torch

from .config import TrainConfig
from .errors import TrainerError

log = logging.getLogger("trainer")
DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def full_dtype() -> torch.dtype:
    """Full precision for merging and serving: bf16 on CUDA (a 7B model in fp32 would not fit
    beside nothing else), fp32 on the CPU."""
    return torch.bfloat16 if device() == "cuda" else torch.float32


def world_size() -> int:
    """Processes of this run (``accelerate launch`` / ``torchrun`` set WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def _device_map():
    """One GPU per process under DDP; none under FSDP (it places the shards itself)."""
    if os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true":
        return None
    if world_size() > 1 and device() == "cuda":
        return {"": int(os.environ.get("LOCAL_RANK", "0"))}
    return {"": device()}


def bnb_4bit_usable() -> tuple[bool, str]:
    """Probe bitsandbytes by quantising one block on this device (an import alone proves nothing)."""
    try:
        import bitsandbytes.functional as F
    except Exception as exc:  # ImportError, or a broken native library
        return False, f"bitsandbytes does not import: {exc}"
    try:
        F.quantize_4bit(torch.ones(64, 64, device=device()), quant_type="nf4")
    except Exception as exc:
        return False, f"bitsandbytes cannot quantise to 4-bit on {device()}: {exc}"
    return True, f"bitsandbytes 4-bit on {device()}"


def keep_cpu_4bit_trainable(model) -> int:
    """Stop bitsandbytes' CPU inference repack, and undo it where it already happened.

    On CPUs with avx512_bf16, bitsandbytes 0.50 repacks every 4-bit weight in place on the first
    eval-mode forward (``evaluate()``, ``generate()``) for an inference kernel without autograd;
    from then on no gradient reaches the adapters and training silently learns nothing. Returns
    the number of layers that had been repacked."""
    try:
        import bitsandbytes as bnb
        import bitsandbytes.functional as F
    except ImportError:
        return 0
    changed = 0
    for module in model.modules():
        if not isinstance(module, bnb.nn.Linear4bit):
            continue
        module.support_avx512bf16_for_cpu = False
        weight = module.weight
        if getattr(weight.quant_state, "packing_format_for_cpu", False):
            weight.data, weight.quant_state = F._convert_weight_packed_for_cpu_inverse(weight.data,
                                                                                       weight.quant_state)
            changed += 1
    return changed


def load_tokenizer(base_model: str, config: TrainConfig):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(base_model)
    except (OSError, ValueError) as exc:
        raise TrainerError(f"cannot load a tokenizer from {base_model!r}: {exc}") from None
    tokenizer.model_max_length = config.max_seq_length
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base(base_model: str, config: TrainConfig, quantize: bool | None = None):
    """Return ``(model, quantized, reason)``; ``quantize=False`` loads full precision (for merging)."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    want = config.load_in_4bit if quantize is None else quantize
    usable, reason = bnb_4bit_usable() if want else (False, "load_in_4bit is false")
    if want and not usable:
        if config.require_4bit:
            raise TrainerError(f"4-bit was required but {reason}")
        log.warning("4-bit QLoRA unavailable (%s): falling back to plain LoRA on a full-precision base", reason)
    kwargs: dict = {"dtype": full_dtype()}
    if want and usable:
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type=config.bnb_4bit_quant_type,
            bnb_4bit_use_double_quant=config.bnb_4bit_use_double_quant,
            bnb_4bit_compute_dtype=DTYPES[config.compute_dtype],
            bnb_4bit_quant_storage=DTYPES.get(config.bnb_4bit_quant_storage, torch.uint8))
        if _device_map() is not None:
            kwargs["device_map"] = _device_map()
    try:
        model = AutoModelForCausalLM.from_pretrained(base_model, **kwargs)
    except (OSError, ValueError) as exc:
        raise TrainerError(f"cannot load the base model {base_model!r}: {exc}") from None
    if not (want and usable) and world_size() == 1:
        model.to(device())
    keep_cpu_4bit_trainable(model)
    return model, bool(want and usable), reason


def attach_lora(model, config: TrainConfig, quantized: bool):
    """LoRA on every linear projection (``all-linear`` leaves the output head out)."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if quantized:
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=config.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False})
    elif config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model.config.use_cache = False
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=config.target_modules, modules_to_save=config.modules_to_save or None,
                      bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, lora)
