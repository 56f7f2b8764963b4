"""A tiny local embedding model built here (no download): a real model2vec static model folder,
written by model2vec's own ``save_pretrained`` and read back by its own loader.

Its tokenizer is a word-level ``tokenizers`` model trained on the given texts; each word's vector
is a fixed random direction (seeded by the word) scaled by the word's IDF, so a text's mean vector
is a random projection of its TF-IDF bag of words: paraphrases that keep most content words land
close, a rewrite that changes the words does not. A real model (e.g. a distilled potion model or
a MiniLM sentence-transformer) also places synonyms and translations close; this one only sees
shared words, which is what the tests need to know in advance."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np

DIM = 64


def word_vector(word: str, dim: int = DIM) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
    return np.random.default_rng(seed).standard_normal(dim).astype(np.float32)


def build_model(texts: list[str], out: Path, dim: int = DIM, vocab_size: int = 30_000) -> Path:
    """Train the tokenizer on ``texts``, weight words by IDF, save a model2vec folder at ``out``."""
    from model2vec import StaticModel
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, special_tokens=["[PAD]", "[UNK]"])
    tokenizer.train_from_iterator(texts, trainer)
    vocab = tokenizer.get_vocab()
    df: dict[int, int] = {}
    for encoding in tokenizer.encode_batch(texts):
        for token in set(encoding.ids):
            df[token] = df.get(token, 0) + 1
    vectors = np.zeros((len(vocab), dim), dtype=np.float32)
    for word, token in vocab.items():
        if word in ("[PAD]", "[UNK]"):
            continue
        idf = math.log((1 + len(texts)) / (1 + df.get(token, 0))) + 1
        vectors[token] = word_vector(word, dim) * idf / math.sqrt(dim)
    out.mkdir(parents=True, exist_ok=True)
    StaticModel(vectors, tokenizer, normalize=True).save_pretrained(str(out))
    return out


# A back-translation-like rewrite (what an EN→FR→EN round trip does to a dialogue, deterministic):
# line breaks lost, contractions expanded, fillers dropped, common words swapped for synonyms.
SYNONYMS = {"yes": "yeah", "okay": "alright", "ok": "alright", "pain": "discomfort", "have": "have got",
            "think": "believe", "really": "truly", "little": "bit", "about": "around", "start": "begin",
            "started": "began", "take": "use", "taking": "using", "feel": "sense", "feeling": "sensing",
            "medicine": "medication", "any": "some", "now": "currently", "because": "since", "also": "too",
            "like": "such as", "get": "obtain", "got": "obtained", "went": "traveled", "know": "understand",
            "want": "wish", "see": "notice", "good": "fine", "problem": "issue", "problems": "issues",
            "doctor": "physician", "hurt": "ache", "hurts": "aches", "help": "assist", "said": "stated",
            "tell": "say", "sure": "certain", "right": "correct", "big": "large", "quick": "fast",
            "sick": "ill", "told": "informed", "daily": "every day", "often": "frequently", "hi": "hello"}
FILLERS = {"um", "uh", "hmm", "mm", "oh", "well", "so", "just", "actually"}
CONTRACTIONS = {"i'm": "i am", "don't": "do not", "it's": "it is", "i've": "i have", "didn't": "did not",
                "can't": "cannot", "that's": "that is", "you're": "you are", "doesn't": "does not"}


def back_translate_like(text: str) -> str:
    import re

    def swap(m: re.Match) -> str:
        word = m.group(0)
        low = word.lower()
        if low in FILLERS:
            return ""
        new = CONTRACTIONS.get(low) or SYNONYMS.get(low) or word
        return new.capitalize() if word[0].isupper() and new != word else new
    flat = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return re.sub(r" {2,}", " ", re.sub(r"[A-Za-z']+", swap, flat)).strip()


def write_twins(source: Path, out: Path, limit: int | None = None) -> list[dict]:
    """MTS-Dialog rows of ``source`` and, at ``out``, a CSV of a back-translation-like twin of the
    first ``limit`` of them (ID ``<ID>-bt``, same note): returns the source rows."""
    import csv

    with source.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, ["ID", "section_header", "section_text", "dialogue"])
        writer.writeheader()
        for r in rows[:limit]:
            writer.writerow({"ID": f"{r['ID']}-bt", "section_header": r["section_header"],
                             "section_text": r["section_text"], "dialogue": back_translate_like(r["dialogue"])})
    return rows
