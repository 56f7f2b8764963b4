"""Train LoRA adapters with the transformers ``Trainer``: evaluation on the validation split,
early stopping with the best checkpoint kept, checkpoints in the run directory and resume.

``Trainer`` rather than TRL's ``SFTTrainer`` because labels, packing and the pre-flight check
are ours (``data.py``); ``SFTTrainer`` would tokenize again and re-decide the masks.
The same code runs under ``accelerate launch`` / ``torchrun`` (see ``trainer/fsdp_qlora.yaml``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import torch
from transformers import (DataCollatorForSeq2Seq, DataCollatorWithFlattening, EarlyStoppingCallback, Trainer,
                          TrainerCallback, TrainingArguments)
from transformers.trainer_utils import get_last_checkpoint

from .config import TrainConfig
from .model import device, keep_cpu_4bit_trainable


def write_json(path: Path, data) -> None:
    """Atomic: the job runner may read the file at any moment."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # one per process: ranks never share it
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


class ProgressFile(TrainerCallback):
    """Step, loss and eval loss into ``progress.json`` / ``metrics.jsonl`` for the job runner."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.last: dict = {}

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero:  # multi-GPU: one rank reports
            return
        entry = {"step": state.global_step, "epoch": state.epoch, **(logs or {})}
        with (self.run_dir / "metrics.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
        self.last.update(logs or {})

    def on_step_end(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        write_json(self.run_dir / "progress.json",
                   {"step": state.global_step, "max_steps": state.max_steps, "epoch": state.epoch,
                    "loss": self.last.get("loss"), "eval_loss": self.last.get("eval_loss"),
                    "best_eval_loss": state.best_metric, "updated_at": time.time()})


class Keep4bitTrainable(TrainerCallback):
    """Re-assert, around every evaluation and before training, that bitsandbytes' CPU inference
    repack is off (see ``model.keep_cpu_4bit_trainable``): evaluating must not stop learning."""

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        keep_cpu_4bit_trainable(model)

    def on_evaluate(self, args, state, control, model=None, **kwargs):
        keep_cpu_4bit_trainable(model)


def training_args(config: TrainConfig, output_dir: Path, quantized: bool, **overrides) -> TrainingArguments:
    from .tracking import transformers_report_to

    cuda = device() == "cuda"
    optim = config.optim or ("paged_adamw_8bit" if cuda and quantized else "adamw_torch")
    kwargs = dict(
        output_dir=str(output_dir), seed=config.seed, learning_rate=config.learning_rate,
        num_train_epochs=config.num_train_epochs, max_steps=config.max_steps,
        per_device_train_batch_size=config.per_device_train_batch_size,
        per_device_eval_batch_size=config.per_device_eval_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps, warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay, lr_scheduler_type=config.lr_scheduler_type, optim=optim,
        eval_strategy="steps", eval_steps=config.eval_steps, save_strategy="steps", save_steps=config.eval_steps,
        save_total_limit=config.save_total_limit, load_best_model_at_end=True, metric_for_best_model="eval_loss",
        greater_is_better=False, logging_steps=config.logging_steps,
        report_to=transformers_report_to(config),
        bf16=cuda and torch.cuda.is_bf16_supported(), use_cpu=not cuda, dataloader_num_workers=0,
        remove_unused_columns=False,  # gradient checkpointing: attach_lora enables it on the model
        disable_tqdm=False)
    return TrainingArguments(**(kwargs | overrides))


def collator(tokenizer, config: TrainConfig):
    """Padding per batch, or padding-free packing: one flattened row with position ids and no
    attention mask, which the attention masks per sequence (and ``use_cache`` is off)."""
    if config.packing:
        return DataCollatorWithFlattening(return_position_ids=True)
    return DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100, pad_to_multiple_of=8)


def build_trainer(model, tokenizer, rows: dict[str, list[dict]], config: TrainConfig, run_dir: Path,
                  quantized: bool, tracking=None, **args_overrides) -> Trainer:
    """``args_overrides``: TrainingArguments fields to replace (the GPU bench turns saving off);
    ``tracking``: a started ``tracking.Tracking`` that gets every log entry."""
    callbacks = [ProgressFile(run_dir), Keep4bitTrainable()]
    if tracking is not None:
        from .tracking import TrackingCallback

        callbacks.append(TrackingCallback(tracking))
    if config.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    return Trainer(model=model, args=training_args(config, run_dir / "checkpoints", quantized, **args_overrides),
                   train_dataset=rows["train"], eval_dataset=rows["validation"],
                   data_collator=collator(tokenizer, config), callbacks=callbacks)


def last_complete_checkpoint(checkpoints: Path) -> str | None:
    """The newest checkpoint that was completely written, removing any newer partial one.

    ``Trainer`` writes a checkpoint in place (weights, optimizer, scheduler, RNG, then
    ``trainer_state.json`` last); a kill during the save leaves a folder that
    ``get_last_checkpoint`` would pick and resume would fail on."""
    while checkpoints.is_dir() and (last := get_last_checkpoint(str(checkpoints))):
        try:
            json.loads((Path(last) / "trainer_state.json").read_text(encoding="utf-8"))
            return last
        except (OSError, json.JSONDecodeError):
            print(f"removing {last}: written only in part (the run was killed while saving it)", flush=True)
            shutil.rmtree(last)
    return None


def train(trainer: Trainer, run_dir: Path) -> dict:
    """Train, resuming from the newest complete checkpoint when one exists (a killed run continues)."""
    last = last_complete_checkpoint(run_dir / "checkpoints")
    started = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=last)
    seconds = time.perf_counter() - started
    state = trainer.state
    return {"global_step": state.global_step, "max_steps": state.max_steps, "resumed_from": last,
            "best_eval_loss": state.best_metric, "best_checkpoint": state.best_model_checkpoint,
            "train_loss": output.training_loss, "train_seconds": seconds,
            "stopped_early": state.global_step < state.max_steps}


def loss_curve(log_history: list[dict], run_dir: Path) -> dict:
    """Train and validation loss by step: ``loss.json`` and ``loss.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {"train": [(e["step"], e["loss"]) for e in log_history if "loss" in e],
              "validation": [(e["step"], e["eval_loss"]) for e in log_history if "eval_loss" in e]}
    write_json(run_dir / "loss.json", curves)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, points in curves.items():
        if points:
            ax.plot(*zip(*points), marker="o" if name == "validation" else None, label=name)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(run_dir / "loss.png", dpi=100)
    plt.close(fig)
    return curves
