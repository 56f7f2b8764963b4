"""One validated training config, read from YAML and/or flags and saved with every run.

Defaults follow the seeds' practice (QLoRA nf4 + double quantisation, LoRA r 16 / alpha 2r,
dropout 0.05, lr 2e-4, warmup 5%, early stopping on validation loss). Unknown keys are errors,
as in TRL's ``SFTConfig``: a typo must not silently fall back to a default.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import TrainerError

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."


class TrainConfig(BaseModel):
    """Everything that decides what a run does; ``config.yaml`` in the run directory is this object."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # quantisation
    load_in_4bit: bool = Field(True, description="QLoRA: 4-bit nf4 base; false trains plain LoRA on a full base")
    bnb_4bit_quant_type: Literal["nf4", "fp4"] = "nf4"
    bnb_4bit_use_double_quant: bool = True
    compute_dtype: Literal["bfloat16", "float16", "float32"] | None = Field(
        "bfloat16", description="dtype of the 4-bit matmuls; required when load_in_4bit")
    bnb_4bit_quant_storage: Literal["uint8", "bfloat16", "float16", "float32"] = Field(
        "uint8", description="bfloat16 under FSDP, so the 4-bit weights shard like the rest")
    require_4bit: bool = Field(False, description="fail instead of falling back to plain LoRA")
    # LoRA
    lora_r: int = Field(16, ge=1, le=1024)
    lora_alpha: int | None = Field(None, ge=1, description="default 2 * lora_r")
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"
    modules_to_save: list[str] = Field(default_factory=list, description="e.g. [lm_head] for a fresh model")
    gradient_checkpointing: bool = True
    # data
    system_prompt: str | None = Field(DEFAULT_SYSTEM_PROMPT, description="the prompt serving will use; "
                                      "inserted where an example has none, checked where it has one")
    max_seq_length: int = Field(2048, ge=16)
    overlength: Literal["truncate", "drop"] = "drop"
    packing: bool = Field(False, description="padding-free packing (flattened batches with position ids)")
    # optimisation
    learning_rate: float = Field(2e-4, gt=0, le=1e-2)
    num_train_epochs: float = Field(2.0, gt=0)
    max_steps: int = Field(-1, description="overrides epochs when > 0")
    per_device_train_batch_size: int = Field(4, ge=1)
    per_device_eval_batch_size: int = Field(8, ge=1)
    gradient_accumulation_steps: int = Field(4, ge=1)
    warmup_ratio: float = Field(0.05, ge=0, lt=1,
                                description="share of steps warming up (transformers 5: warmup_steps < 1)")
    weight_decay: float = Field(0.0, ge=0)
    lr_scheduler_type: str = "cosine"
    optim: str | None = Field(None, description="default paged_adamw_8bit on CUDA, adamw_torch elsewhere")
    seed: int = 42
    # evaluation, checkpoints
    eval_steps: int = Field(50, ge=1, description="evaluate and checkpoint every N optimizer steps")
    early_stopping_patience: int | None = Field(3, ge=1, description="evaluations without improvement; null: off")
    save_total_limit: int = Field(2, ge=1)
    logging_steps: int = Field(10, ge=1)
    # test-split comparison and export
    eval_max_new_tokens: int = Field(128, ge=1)
    eval_limit: int | None = Field(None, ge=1, description="only the first N test examples")
    merge: bool = True
    merge_base: Literal["full", "dequantized"] = Field(
        "full", description="merge into the original full-precision weights, or into the dequantised 4-bit "
                            "weights the adapter was trained against (reproduces the 4-bit model's outputs)")
    parity_tolerance: float | None = Field(
        None, ge=0, le=1, description="share of test prompts whose exported answer may differ from the adapter's "
        "evaluation answer; null: none when the merged weights are the evaluated ones, and recorded but not "
        "enforced when quantisation differs (4-bit training merged into the full base)")
    # experiment tracking (trainer/tracking.py)
    report_to: list[Literal["tensorboard", "mlflow", "wandb"]] = Field(
        default_factory=list, description="trackers: TensorBoard event files in the run directory, an MLflow run, "
                                          "Weights & Biases offline (when installed)")
    tracking_uri: str | None = Field(None, description="MLflow tracking URI; default a local file store "
                                                       "beside the runs (STATE_DIR/training/mlruns)")
    tracking_project: str | None = Field(None, description="MLflow experiment / W&B project; default the "
                                                           "dataset name")
    temperature: float = Field(0.7, ge=0, le=2, description="sampling params written into the Modelfile")
    top_p: float = Field(0.9, gt=0, le=1)

    @model_validator(mode="after")
    def _cross_field(self) -> "TrainConfig":
        if self.lora_alpha is None:
            self.lora_alpha = 2 * self.lora_r
        if self.load_in_4bit and self.compute_dtype is None:
            raise ValueError("load_in_4bit needs a compute_dtype (bfloat16, float16 or float32)")
        if self.require_4bit and not self.load_in_4bit:
            raise ValueError("require_4bit is set but load_in_4bit is false")
        if self.require_4bit and importlib.util.find_spec("bitsandbytes") is None:
            raise ValueError("require_4bit: bitsandbytes is not installed (pip install -e '.[train]')")
        if self.max_steps <= 0 and self.num_train_epochs <= 0:
            raise ValueError("set num_train_epochs > 0 or max_steps > 0")
        return self

    @classmethod
    def load(cls, path: Path | str | None = None, overrides: dict | None = None) -> "TrainConfig":
        """YAML file (if any) first, then ``overrides`` (flags given); a bad key or value names the
        file and the field."""
        data: dict = {}
        if path is not None:
            try:
                data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise TrainerError(f"{path}: cannot read training config: {exc}") from None
            if not isinstance(data, dict):
                raise TrainerError(f"{path}: a training config is a mapping of keys to values")
        data.update(overrides or {})
        from pydantic import ValidationError

        try:
            return cls(**data)
        except ValidationError as exc:
            where = f"{path}: " if path else ""
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
            raise TrainerError(f"{where}invalid training config: {problems}") from None

    def save(self, path: Path) -> None:
        path.write_text(yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False), encoding="utf-8")
