"""Base and fine-tuned model answer the same test prompts (greedy, same max tokens); scored
with exact match, token F1 and ROUGE-L, with a per-example table for human review."""

from __future__ import annotations

import torch

from .data import eot_token, prompt_and_reference
from .metrics import mean_scores, score
from .model import keep_cpu_4bit_trainable


@torch.no_grad()
def generate(model, tokenizer, prompts: list[list[dict]], max_new_tokens: int, batch_size: int = 16) -> list[str]:
    """Greedy answers, batched with left padding; stops at the end-of-turn token."""
    keep_cpu_4bit_trainable(model)
    was_training = model.training
    model.eval()
    eot_id = tokenizer.convert_tokens_to_ids(eot_token(tokenizer))
    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    answers = []
    try:
        for start in range(0, len(prompts), batch_size):
            texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True)
                     for p in prompts[start:start + batch_size]]
            batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            batch = {k: v.to(model.device) for k, v in batch.items()}
            output = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, use_cache=True,
                                    eos_token_id=[eot_id, tokenizer.eos_token_id], pad_token_id=tokenizer.pad_token_id)
            new = output[:, batch["input_ids"].shape[1]:]
            answers += [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
    finally:
        tokenizer.padding_side = side
        keep_cpu_4bit_trainable(model)
        model.train(was_training)
    return answers


def test_prompts(examples: list[list[dict]], system_prompt: str | None,
                 limit: int | None = None) -> tuple[list[list[dict]], list[str]]:
    pairs = [prompt_and_reference(m, system_prompt) for m in examples[:limit]]
    return [p for p, _ in pairs], [r for _, r in pairs]


def score_outputs(outputs: list[str], references: list[str]) -> tuple[dict[str, float], list[dict]]:
    rows = [score(o, r) for o, r in zip(outputs, references)]
    return mean_scores(rows), rows


def comparison_table(prompts, references, base_out, base_rows, tuned_out, tuned_rows) -> list[dict]:
    """One row per test example: prompt, reference, both answers and their scores."""
    return [{"index": i, "prompt": p[-1]["content"], "reference": ref, "base_output": b, "tuned_output": t,
             "base_exact_match": bs["exact_match"], "tuned_exact_match": ts["exact_match"],
             "base_rouge_l": bs["rouge_l"], "tuned_rouge_l": ts["rouge_l"],
             "base_token_f1": bs["token_f1"], "tuned_token_f1": ts["token_f1"]}
            for i, (p, ref, b, bs, t, ts) in enumerate(zip(prompts, references, base_out, base_rows,
                                                           tuned_out, tuned_rows))]
