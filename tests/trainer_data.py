"""Test inputs for the trainer, built locally (nothing downloaded): an exported dataset version of
a learnable task, and a tiny Llama-architecture model with a BPE tokenizer and a ChatML template.

The task is 3-class ticket routing on real customer messages (bitext-support, CDLA-Sharing-1.0):
the assistant answers the category of the request. A random model answers garbage (exact match
~0); a few hundred LoRA steps learn it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from pathlib import Path

CLASSES = {"ACCOUNT": "account", "ORDER": "order", "REFUND": "refund"}
SYSTEM = "Route the customer message to one team: account, order or refund. Answer with the team only."

CHATML = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\n' }}"
    "{% else %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# planted bad templates: no generation markers (empty mask); the end-of-turn token outside the mask
NO_GENERATION = CHATML.replace("{% generation %}", "").replace("{% endgeneration %}", "")
EOT_OUTSIDE = CHATML.replace("{{ message['content'] + '<|im_end|>' }}{% endgeneration %}",
                             "{{ message['content'] }}{% endgeneration %}{{ '<|im_end|>' }}")


def routing_examples(shared_data: Path, per_class: int = 130, seed: int = 0) -> list[list[dict]]:
    path = shared_data / "bitext-support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["category"] in CLASSES]
    rng = random.Random(seed)
    rng.shuffle(rows)
    picked, counts = [], dict.fromkeys(CLASSES, 0)
    for row in rows:
        if counts[row["category"]] < per_class:
            counts[row["category"]] += 1
            picked.append([{"role": "user", "content": row["instruction"].strip()},
                           {"role": "assistant", "content": CLASSES[row["category"]]}])
    rng.shuffle(picked)
    return picked


def write_export(out: Path, examples: list[list[dict]], status: str = "approved",
                 sizes: tuple[int, int] = (30, 30), name: str = "routing", number: int = 1) -> Path:
    """An export directory in the shape `curator export NAME@N --format openai` writes."""
    n_val, n_test = sizes
    parts = {"validation": examples[:n_val], "test": examples[n_val:n_val + n_test],
             "train": examples[n_val + n_test:]}
    out.mkdir(parents=True, exist_ok=True)
    splits = {}
    for split, items in parts.items():
        data = "".join(json.dumps({"messages": m}, ensure_ascii=False) + "\n" for m in items).encode()
        (out / f"{split}.jsonl").write_bytes(data)
        splits[split] = {"count": len(items), "files": {f"{split}.jsonl": hashlib.sha256(data).hexdigest()}}
    content_hash = hashlib.sha256("".join(h for s in splits.values() for h in s["files"].values()).encode()).hexdigest()
    manifest = {"version_id": number, "name": name, "number": number, "ref": f"{name}@{number}",
                "content_hash": content_hash, "status": status,
                "approver": "steward@example.org" if status == "approved" else None,
                "created_at": "2026-11-23T00:00:00Z", "parent": None,
                "params": {"split": {"train": 0.8, "validation": 0.1, "test": 0.1}, "seed": 0, "filter": None},
                "splits": splits}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return out


def build_tiny_model(out: Path, texts: list[str], chat_template: str = CHATML, seed: int = 0) -> Path:
    """A 2-layer, hidden-64 Llama with a byte-level BPE tokenizer trained on ``texts``.

    The output layer is initialised wider than the default (std 0.02 gives logits too small for
    a frozen head to ever push the loss below ~5)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=1024, special_tokens=specials,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        bos_token=None, model_max_length=512)
    tokenizer.chat_template = chat_template
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=False, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        model.lm_head.weight.normal_(0.0, 0.5)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def set_template(model_dir: Path, chat_template: str, out: Path) -> Path:
    """A copy of the tiny model's folder with another chat template (to plant a bad one)."""
    import shutil

    shutil.copytree(model_dir, out)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(out)
    tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(out)
    return out
