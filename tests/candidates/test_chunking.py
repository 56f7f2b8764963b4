"""Chunking on every ContractNLI NDA, checked against expectations the chunker does not compute:
token counts by a real BPE tokenizer, offsets and coverage of the source text, overlap, breaks
found by a plain regex, and hand-built documents whose chunks are known in advance."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from curator.candidates.chunking import Chunk, chunk_text, sentence_spans
from curator.errors import InputError

MAX, OVERLAP = 512, 64
# a break as a reader sees one: a line break, or . ! ? ; (and closing quotes) before white space
BREAK = re.compile(r"[.!?;][\"'”’)\]]*(?=\s)|\n")
ENDS_SENTENCE = re.compile(r"[.!?;][\"'”’)\]]*$")


@pytest.fixture(scope="module")
def ndas(shared_data: Path) -> list[str]:
    texts = []
    for split in ("dev", "test"):
        data = json.loads((shared_data / "contractnli" / f"{split}.json").read_text(encoding="utf-8"))
        texts += [doc["text"] for doc in data["documents"]]
    assert len(texts) == 184
    return texts


@pytest.fixture(scope="module")
def count_bpe(ndas: list[str]):
    """Token counts by a byte-level BPE tokenizer trained on the NDAs (the `tokenizers` library)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(ndas, trainers.BpeTrainer(vocab_size=2000, show_progress=False,
                                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return lambda text: len(tok.encode(text).ids)


@pytest.fixture(scope="module")
def chunked(ndas: list[str]) -> list[tuple[str, list[Chunk]]]:
    return [(text, chunk_text(text, MAX, OVERLAP)) for text in ndas]


@pytest.fixture(scope="module")
def chunked_bpe(ndas: list[str], count_bpe) -> list[tuple[str, list[Chunk]]]:
    return [(text, chunk_text(text, MAX, OVERLAP, count_tokens=count_bpe)) for text in ndas]


def assert_covers(text: str, chunks: list[Chunk]) -> None:
    covered = bytearray(len(text))
    for c in chunks:
        covered[c.start:c.end] = b"\1" * (c.end - c.start)
    missed = [i for i, ch in enumerate(text) if not covered[i] and not ch.isspace()]
    assert not missed, f"uncovered characters at {missed[:5]}"


def stretch(text: str, offset: int) -> str:
    """The text between the breaks around ``offset``."""
    start = max([m.end() for m in BREAK.finditer(text, 0, offset)] or [0])
    after = BREAK.search(text, offset)
    return text[start:after.end() if after else len(text)]


def starts_at_break(text: str, start: int) -> bool:
    before = text[:start].rstrip()
    return not before or "\n" in text[len(before):start] or bool(ENDS_SENTENCE.search(before))


def ends_at_break(text: str, chunk: Chunk) -> bool:
    return chunk.end == len(text) or text[chunk.end] == "\n" or bool(ENDS_SENTENCE.search(chunk.text))


def test_offsets_are_exact_and_ordered(chunked):
    for text, chunks in chunked:
        assert chunks
        for n, c in enumerate(chunks):
            assert c.index == n
            assert text[c.start:c.end] == c.text
            assert c.text == c.text.strip() and c.text
        for a, b in zip(chunks, chunks[1:]):
            assert a.start < b.start and a.end < b.end


def test_every_non_whitespace_character_is_covered(chunked):
    for text, chunks in chunked:
        assert_covers(text, chunks)


def test_every_character_is_covered_under_a_real_tokenizer(chunked_bpe):
    for text, chunks in chunked_bpe:
        assert_covers(text, chunks)


def test_budget_is_respected(chunked, chunked_bpe, count_bpe):
    for _, chunks in chunked:  # the default counter: a token per four characters, rounded up
        assert all(len(c.text) <= 4 * MAX for c in chunks)
    for _, chunks in chunked_bpe:
        assert all(count_bpe(c.text) <= MAX for c in chunks)
    assert sum(len(chunks) > 1 for _, chunks in chunked_bpe) > 100  # the corpus does exercise splitting


def test_consecutive_chunks_overlap(chunked_bpe, count_bpe):
    """The next chunk repeats the previous one's tail: about the overlap budget, never more than
    half the budget (one short sentence when no tail fits the overlap)."""
    overlaps, disjoint = [], 0
    for text, chunks in chunked_bpe:
        for a, b in zip(chunks, chunks[1:]):
            if b.start >= a.end:
                disjoint += 1
                continue
            overlaps.append(count_bpe(text[b.start:a.end]))
            assert starts_at_break(text, b.start) or count_bpe(stretch(text, b.start)) > MAX
    assert disjoint <= len(overlaps) // 20
    assert max(overlaps) <= MAX // 2
    assert sorted(overlaps)[len(overlaps) // 2] <= OVERLAP


def test_boundaries_fall_on_breaks_unless_the_sentence_is_too_long(chunked_bpe, count_bpe):
    for text, chunks in chunked_bpe:
        for c in chunks:
            assert starts_at_break(text, c.start) or count_bpe(stretch(text, c.start)) > MAX, c
            assert ends_at_break(text, c) or count_bpe(stretch(text, c.end - 1)) > MAX, c
            assert c.start == 0 or text[c.start - 1].isspace()


def test_chunks_prefer_paragraph_and_line_breaks(chunked):
    ends_at_line = total = 0
    for text, chunks in chunked:
        for c in chunks[:-1]:
            total += 1
            ends_at_line += c.end == len(text) or text[c.end] == "\n"
    assert ends_at_line / total > 0.8


def _sentence(paragraph: int, part: int) -> str:
    """A 200-character sentence (50 tokens by the default counter)."""
    head = f"Clause {paragraph} part {part} binds"
    return head + " x" * ((199 - len(head)) // 2) + "."


PARAGRAPHS = [_sentence(p, 1) + " " + _sentence(p, 2) for p in range(8)]  # 401 characters each
DOCUMENT = "\n\n".join(PARAGRAPHS)


def test_chunks_end_at_paragraph_breaks():
    """A 256-token budget holds five sentences; the paragraph break after the fourth is in the
    last half of the budget, so every chunk is two whole paragraphs."""
    got = [c.text for c in chunk_text(DOCUMENT, max_tokens=256, overlap_tokens=0)]
    assert got == ["\n\n".join(PARAGRAPHS[i:i + 2]) for i in range(0, 8, 2)]


def test_overlap_repeats_the_previous_chunks_last_sentence():
    """A 60-token overlap holds one 50-token sentence: each chunk after the first starts with the
    last sentence of the one before, then takes the next two paragraphs."""
    got = [(c.start, c.end) for c in chunk_text(DOCUMENT, max_tokens=256, overlap_tokens=60)]
    first = (0, DOCUMENT.index(PARAGRAPHS[1]) + len(PARAGRAPHS[1]))
    rest = [(DOCUMENT.index(_sentence(i - 1, 2)), DOCUMENT.index(PARAGRAPHS[i + 1]) + len(PARAGRAPHS[i + 1]))
            for i in range(2, 8, 2)]
    assert got == [first, *rest]


def test_sentence_splitter_keeps_abbreviations_together():
    text = "Acme Inc. shall pay, e.g. fees under Art. 5 and No. 7. The U.S. party agrees! Does it? Yes; ok."
    got = [text[s:e] for s, e, _ in sentence_spans(text)]
    assert got == ["Acme Inc. shall pay, e.g. fees under Art. 5 and No. 7.", "The U.S. party agrees!",
                   "Does it?", "Yes;", "ok."]


def test_numbered_headings_stay_with_their_title():
    text = "1. Definitions\n\n(a) The term applies.\n\nii. Scope of use."
    assert [text[s:e] for s, e, _ in sentence_spans(text)] == [
        "1. Definitions", "(a) The term applies.", "ii. Scope of use."]


def test_empty_and_whitespace_only_text():
    assert chunk_text("") == []
    assert chunk_text("  \n\n\t \n ") == []


def test_short_text_is_one_stripped_chunk():
    text = "\n\n  This Agreement is short. It has two sentences.  \n"
    (chunk,) = chunk_text(text)
    assert chunk == Chunk(0, 4, len(text) - 3, text.strip())


def test_huge_sentence_without_punctuation_is_split_at_words():
    text = " ".join(f"word{i}" for i in range(3000))
    chunks = chunk_text(text, max_tokens=100, overlap_tokens=10)
    assert len(chunks) > 10
    assert_covers(text, chunks)
    for c in chunks:
        assert text[c.start:c.end] == c.text and len(c.text) <= 400
        assert (c.start == 0 or text[c.start - 1] == " ") and (c.end == len(text) or text[c.end] == " ")


def test_a_word_longer_than_the_budget_is_cut_into_characters():
    text = "short start. " + "x" * 1000 + " end."
    chunks = chunk_text(text, max_tokens=50, overlap_tokens=5)
    assert_covers(text, chunks)
    assert all(len(c.text) <= 200 and text[c.start:c.end] == c.text for c in chunks)


def test_custom_token_counter():
    def words(s: str) -> int:
        return len(s.split())

    text = "\n\n".join(f"Clause {i} binds the parties to keep every secret safe." for i in range(200))
    chunks = chunk_text(text, max_tokens=50, overlap_tokens=10, count_tokens=words)
    assert len(chunks) > 30
    assert_covers(text, chunks)
    for a, b in zip(chunks, chunks[1:]):
        assert words(a.text) <= 50
        assert b.start < a.end and words(text[b.start:a.end]) <= 10


def test_zero_overlap_gives_disjoint_chunks(ndas):
    for text in ndas[:30]:
        chunks = chunk_text(text, max_tokens=200, overlap_tokens=0)
        assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:]))
        assert_covers(text, chunks)


@pytest.mark.parametrize("max_tokens, overlap", [(64, 64), (64, 100), (0, 0), (10, -1)])
def test_bad_parameters_are_rejected(max_tokens, overlap):
    with pytest.raises(InputError, match="overlap_tokens|max_tokens"):
        chunk_text("Some text.", max_tokens=max_tokens, overlap_tokens=overlap)


def test_overlap_not_smaller_than_budget_message():
    with pytest.raises(InputError, match=r"overlap_tokens \(64\) must be smaller than max_tokens \(64\)"):
        chunk_text("Some text.", max_tokens=64, overlap_tokens=64)
