"""QLoRA training throughput on one CUDA GPU: curator's trainer against a plain TRL ``SFTTrainer``.

Both sides train the same ~1.1B-parameter Llama-architecture model (built from a config, random
weights: nothing can be downloaded) in 4-bit nf4 with LoRA r 16 on all linear layers, on the same
chat examples (bitext customer-support request -> answer, ../shared/data), the same batch size,
sequence limit, optimizer (paged_adamw_8bit) and number of steps. Each side runs in a fresh
process (clean peak-memory counters), ``--repeats`` times; the table shows medians.

- **ours**: ``trainer.model.load_base`` / ``attach_lora`` / ``trainer.data`` labels /
  ``trainer.train.build_trainer`` with ``packing: true`` (padding-free batches with position ids)
  and SDPA attention; gradient checkpointing as ``--ours-gc`` says (default on).
- **baseline**: what a tutorial writes: ``SFTTrainer(model, train_dataset, peft_config,
  args=SFTConfig(...))`` with TRL's defaults (padded batches, gradient checkpointing on,
  assistant-only loss off).

tokens/s counts real (non-padding) tokens of the examples consumed in the timed steps (after
``--warmup`` steps); both sides consume the same examples per step. Peak VRAM is
``torch.cuda.max_memory_allocated`` over the whole training call.

    python bench/train.py                      # 3 repeats x 2 sides, 60 steps each (~15 min on an H100)
    python bench/train.py --repeats 1 --steps 30 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CURATOR_SHARED_DATA", REPO.parent / "shared" / "data"))
sys.path.insert(0, str(REPO / "tests"))  # the test helpers build the export and the tokenizer


def build_inputs(workdir: Path, n_examples: int) -> tuple[Path, Path]:
    """An approved export of support conversations and a ~1.1B Llama (bf16 safetensors)."""
    import csv

    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from trainer_data import CHATML, write_export

    model_dir, export_dir = workdir / "model-1b", workdir / "export"
    if (model_dir / "config.json").exists() and (export_dir / "manifest.json").exists():
        return model_dir, export_dir
    path = SHARED / "bitext-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))[:n_examples]
    examples = [[{"role": "user", "content": r["instruction"]}, {"role": "assistant", "content": r["response"]}]
                for r in rows]
    write_export(export_dir, examples, sizes=(64, 16), name="bench")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([r["instruction"] + "\n" + r["response"] for r in rows],
                            trainers.BpeTrainer(vocab_size=32000, special_tokens=["<|endoftext|>", "<|im_start|>",
                                                                                  "<|im_end|>"],
                                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        model_max_length=2048)
    tokenizer.chat_template = CHATML
    config = LlamaConfig(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                         num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=2048,
                         tie_word_embeddings=False, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    print(f"built {sum(p.numel() for p in model.parameters()) / 1e9:.2f}B-parameter Llama in {model_dir}",
          file=sys.stderr)
    return model_dir, export_dir


class StepTimer:
    """Times the steps after ``warmup`` (first steps include CUDA/bnb warm-up)."""

    def __init__(self, warmup: int):
        from transformers import TrainerCallback

        outer = self

        class _CB(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                import torch

                if state.global_step == warmup:
                    torch.cuda.synchronize()
                    outer.start = time.perf_counter()
                if state.global_step == state.max_steps:
                    torch.cuda.synchronize()
                    outer.end = time.perf_counter()

        self.callback = _CB()
        self.start = self.end = None


def side_ours(model_dir: Path, export_dir: Path, args) -> dict:
    import torch

    from trainer.config import TrainConfig
    from trainer.data import preflight_and_tokenize
    from trainer.model import attach_lora, load_base, load_tokenizer
    from trainer.train import build_trainer
    from trainer.version import read_export

    config = TrainConfig(max_seq_length=args.max_len, packing=True, max_steps=args.steps,
                         per_device_train_batch_size=args.batch, gradient_accumulation_steps=1,
                         gradient_checkpointing=args.ours_gc, eval_steps=10_000, early_stopping_patience=None,
                         logging_steps=10_000, system_prompt=None, overlength="truncate", warmup_ratio=0.0)
    tokenizer = load_tokenizer(str(model_dir), config)
    report, rows = preflight_and_tokenize(tokenizer, read_export(export_dir).splits, config)
    assert report.ok, report.problems
    model, quantized, _ = load_base(str(model_dir), config)
    assert quantized, "bench needs bitsandbytes 4-bit on CUDA"
    model = attach_lora(model, config, quantized)
    run_dir = Path(args.workdir) / "ours-run"
    import shutil

    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    timer = StepTimer(args.warmup)
    trainer = build_trainer(model, tokenizer, rows, config, run_dir, quantized, save_strategy="no",
                            eval_strategy="no", load_best_model_at_end=False, dataloader_drop_last=True)
    trainer.add_callback(timer.callback)
    torch.cuda.reset_peak_memory_stats()
    trainer.train()
    lengths = [len(r["input_ids"]) for r in rows["train"]]
    return _measure(timer, lengths, args)


def side_baseline(model_dir: Path, export_dir: Path, args) -> dict:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig
    from trl import SFTConfig, SFTTrainer

    from trainer.version import read_export

    train = read_export(export_dir).splits["train"]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=torch.bfloat16, device_map={"": 0},
        quantization_config=BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                               bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.bfloat16))
    timer = StepTimer(args.warmup)
    config = SFTConfig(output_dir=str(Path(args.workdir) / "baseline-run"), max_steps=args.steps,
                       per_device_train_batch_size=args.batch, gradient_accumulation_steps=1, learning_rate=2e-4,
                       max_length=args.max_len, optim="paged_adamw_8bit", logging_steps=10_000, save_strategy="no",
                       report_to="none", bf16=True, dataloader_drop_last=True)
    trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list([{"messages": m} for m in train]),
                         processing_class=tokenizer,
                         peft_config=LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear",
                                                task_type="CAUSAL_LM"),
                         callbacks=[timer.callback])
    torch.cuda.reset_peak_memory_stats()
    trainer.train()
    lengths = [min(len(x), args.max_len) for x in trainer.train_dataset["input_ids"]]
    return _measure(timer, lengths, args)


def _measure(timer: StepTimer, lengths: list[int], args) -> dict:
    import torch

    timed_steps = args.steps - args.warmup
    seconds = timer.end - timer.start
    tokens = statistics.mean(lengths) * args.batch * timed_steps  # same examples per step on both sides
    return {"tokens_per_s": tokens / seconds, "seconds": seconds, "timed_steps": timed_steps,
            "mean_tokens_per_example": statistics.mean(lengths),
            "peak_vram_gib": torch.cuda.max_memory_allocated() / 2**30}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-len", type=int, default=1024)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ours-gc", action=argparse.BooleanOptionalAction, default=True,
                        help="gradient checkpointing on our side")
    parser.add_argument("--workdir", default="/tmp/curator-bench-train")
    parser.add_argument("--side", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not 0 < args.warmup < args.steps:
        parser.error("--warmup must be at least 1 and below --steps")

    import torch

    if not torch.cuda.is_available():
        print("bench/train.py needs a CUDA GPU: torch.cuda.is_available() is False on this machine "
              f"(torch {torch.__version__}). It compares QLoRA training throughput and VRAM; on the CPU "
              "the trainer is exercised by tests/trainer/test_trainer.py instead.", file=sys.stderr)
        return 2
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    model_dir, export_dir = build_inputs(workdir, args.examples)
    if args.side:
        result = (side_ours if args.side == "ours" else side_baseline)(model_dir, export_dir, args)
        print(json.dumps(result))
        return 0

    runs: dict[str, list[dict]] = {"ours": [], "baseline": []}
    passthrough = [a for a in sys.argv[1:] if a != "--json"]
    for repeat in range(args.repeats):
        for side in ("baseline", "ours"):
            proc = subprocess.run([sys.executable, __file__, *passthrough, "--side", side], capture_output=True,
                                  text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
            if proc.returncode != 0:
                print(proc.stderr[-4000:], file=sys.stderr)
                return 1
            runs[side].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"repeat {repeat + 1} {side}: {runs[side][-1]}", file=sys.stderr)
    med = {side: {k: statistics.median(r[k] for r in rs) for k in ("tokens_per_s", "peak_vram_gib")}
           for side, rs in runs.items()}
    summary = {"device": torch.cuda.get_device_name(0), "settings": vars(args), "median": med,
               "speedup": med["ours"]["tokens_per_s"] / med["baseline"]["tokens_per_s"],
               "vram_ratio": med["ours"]["peak_vram_gib"] / med["baseline"]["peak_vram_gib"], "runs": runs}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{summary['device']}, {args.steps} steps (timed after {args.warmup}), batch {args.batch}, "
              f"max_len {args.max_len}, medians of {args.repeats}")
        for side in ("baseline", "ours"):
            print(f"  {side:9s} {med[side]['tokens_per_s']:10.0f} tokens/s   peak VRAM "
                  f"{med[side]['peak_vram_gib']:.2f} GiB")
        print(f"  ratio     {summary['speedup']:.2f}x tokens/s, {summary['vram_ratio']:.2f}x VRAM (ours / baseline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
