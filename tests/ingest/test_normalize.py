"""One definition of "the same text": what normalisation repairs, and what it must leave alone."""

from __future__ import annotations

import pytest

from curator.normalize import normalize_text, sha256_text


def test_mojibake_from_a_cp1252_round_trip_is_repaired():
    damaged = "x²".encode("utf-8").decode("cp1252")
    assert damaged == "xÂ²"
    assert normalize_text(damaged) == "x²"
    assert normalize_text("The cafÃ© opens at nine.") == "The café opens at nine."


def test_combining_accent_is_composed_nfc():
    decomposed = "cafe\u0301"
    assert len(decomposed) == 5
    assert normalize_text(decomposed) == "café"
    assert normalize_text(decomposed) == normalize_text("caf\u00e9")
    assert sha256_text(normalize_text(decomposed)) == sha256_text(normalize_text("café"))


@pytest.mark.parametrize("text", ["first line\nsecond line\n\nthird", "naïve line\nsecond\n\nthird"])
def test_crlf_and_lf_give_the_same_text_and_hash(text):
    crlf, cr = text.replace("\n", "\r\n"), text.replace("\n", "\r")
    assert normalize_text(crlf) == normalize_text(text) == normalize_text(cr) == text
    assert sha256_text(normalize_text(crlf)) == sha256_text(normalize_text(text))


def test_sha256_is_of_the_utf8_bytes():
    assert sha256_text("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.parametrize("suffix", ["", " é"])  # the ASCII fast path and the ftfy path
def test_trailing_spaces_and_blank_runs_collapse(suffix):
    text = f"one  \t\ntwo \n\n\n\n\nthree\n \n \n \nfour{suffix}   \n\n\n"
    assert normalize_text(text) == f"one\ntwo\n\nthree\n\nfour{suffix}"


@pytest.mark.parametrize("suffix", ["", " # é"])
def test_leading_indentation_and_inner_spacing_are_kept(suffix):
    code = f"def area(r):\n    if r < 0:\n\t\traise ValueError(r)\n    return 3.14  *  r * r{suffix}"
    assert normalize_text(code + "\n") == code


def test_surrounding_blank_lines_are_trimmed():
    assert normalize_text("\n\n  \n  Title\n\nBody\n\n") == "Title\n\nBody"


def test_curly_quotes_html_and_full_width_are_left_as_written():
    text = "“Curly” and ‘single’ quotes, &amp; an entity, ＡＢＣ full width, the ﬁ ligature"
    assert normalize_text(text) == text


@pytest.mark.parametrize("suffix", ["", " é"])
def test_control_characters_and_terminal_escapes_are_removed(suffix):
    text = f"bell\x07 null\x00 esc\x1b[31mred\x1b[0m del\x7f back\x08{suffix}"
    assert normalize_text(text) == f"bell null escred del back{suffix}"


@pytest.mark.parametrize("suffix", ["", " é"])
def test_form_feed_and_vertical_tab_are_breaks_not_glue(suffix):
    assert normalize_text(f"page one\x0cpage two\x0bline{suffix}") == f"page one\n\npage two\nline{suffix}"


def test_unicode_line_separators_and_bom_are_normalised():
    assert normalize_text("\ufeffé one\u2028two\u2029three") == "é one\ntwo\n\nthree"


@pytest.mark.parametrize("text", [
    "plain words", "a\r\nb", "tabs\tinside  \nnext", "ctrl\x01\x02x", "\x1b[1mbold\x1b[0m", "x \n\n\n\ny",
    "page\x0cbreak", "v\x0btab", "  indented\n    more",
])
def test_ascii_fast_path_agrees_with_the_ftfy_path(text):
    """Text that differs only by a non-ASCII tail must normalise the same way, or one text
    would get two hashes depending on whether it happens to be ASCII."""
    assert normalize_text(text + " é") == normalize_text(text) + " é"


def test_empty_and_whitespace_only_become_empty():
    assert normalize_text("") == ""
    assert normalize_text(" \r\n\t\n ") == ""


def test_line_wise_ftfy_equals_ftfy_on_the_real_corpora(shared_data):
    """The fast path (ftfy only on non-ASCII lines, control characters removed once) must give
    exactly what one ftfy.fix_text call over the whole text gives."""
    import csv
    import json

    import ftfy

    from curator import normalize

    texts = []
    for path in sorted(shared_data.rglob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            texts += [cell for row in csv.reader(handle) for cell in row if not cell.isascii()]
    for path in sorted((shared_data / "contractnli").glob("*.json")):
        texts += [d["text"] for d in json.loads(path.read_text(encoding="utf-8"))["documents"]]
    for path in sorted((shared_data / "gpteacher").rglob("*.json")):
        texts += [v for r in json.loads(path.read_text(encoding="utf-8")) for v in r.values()
                  if isinstance(v, str) and not v.isascii()]
    planted = ["xÂ² and â€œquotedâ€\x9d\r\nnext", "caf\u0065\u0301\x1b[31mred\x1b[0m\ufeff", "a\x85b\u2028c\x00d",
               "clean “line”\nÃ at a line start\nâ€™ again", "lone \ud800 surrogate é", "é\rcarriage é"]
    # The same texts damaged the usual ways: the shortcut past ftfy must not skip any of them.
    damaged = [t.encode("utf-8").decode(enc, errors="replace") for t in texts[::7] for enc in ("cp1252", "mac_roman")]
    texts += planted + damaged
    assert len(texts) > 300
    for text in texts:
        if "\x0b" in text or "\x0c" in text or "\u2028" in text or "\u2029" in text:
            continue  # handled before ftfy on purpose (see normalize_text)
        assert normalize._fix_non_ascii_lines(text) == ftfy.fix_text(text, normalize._FTFY), text[:80]


def _mojibake_alphabet() -> list[str]:
    from ftfy.badness import MOJIBAKE_CATEGORIES

    return list("".join(MOJIBAKE_CATEGORIES.values()) + "abcXYZ .,?!\n\t1é“”’ВГРСвЂβ€ā€ГўВЂ‚Ä√≈×²ØÙÃÂàŒœ°")


def test_is_bad_shortcut_gives_ftfys_answer():
    """``curator.mojibake.is_bad`` tries ftfy's pattern only where a match can start; on short
    strings of the characters the pattern is about (three in four of them bad) it must agree."""
    import random

    from ftfy.badness import is_bad

    from curator import mojibake

    assert mojibake._REQUIRED is not None, "the shortcut is off with the installed ftfy"
    rng, alphabet = random.Random(20240601), _mojibake_alphabet()
    samples = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))) for _ in range(30_000)]
    assert [mojibake.is_bad(s) for s in samples] == [is_bad(s) for s in samples]
    assert 0.5 < sum(map(is_bad, samples)) / len(samples) < 0.95  # both answers are exercised


@pytest.mark.parametrize("line, unchanged", [
    ("“Curly” quotes, a café, naïve—dashes…\n", True), ("中文 and Русский\n", True),
    ("The cafÃ© opens\n", False), ("Ã at a line start\n", False), ("c1 \x85 control é\n", False),
    ("carriage é\r\n", False), ("cafe\u0301 decomposed\n", False), ("lone \ud800 é\n", False),
])
def test_lines_ftfy_leaves_unchanged_are_skipped_only_then(line, unchanged):
    import ftfy

    from curator import mojibake, normalize

    assert mojibake.ftfy_leaves_unchanged(line) is unchanged
    if unchanged:
        assert ftfy.fix_and_explain(line, normalize._FTFY_LINE)[0] == line


def test_random_mojibake_lines_normalise_as_with_ftfy_on_every_line(monkeypatch):
    """The shortcut changes no output: the same as sending every non-ASCII line to ftfy."""
    import random

    from curator import normalize

    rng, alphabet = random.Random(7), _mojibake_alphabet() + ["\r", "\x85", "\u0301"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(3_000)]
    fast = [normalize.normalize_text(t) for t in texts]
    monkeypatch.setattr(normalize, "ftfy_leaves_unchanged", lambda line: False)
    assert fast == [normalize.normalize_text(t) for t in texts]


def test_ascii_control_characters_removed_are_exactly_the_c0_set_and_del():
    """The ASCII path deletes with bytes.translate what the regex below matches, nothing else."""
    import re

    deleted = {c for c in range(128) if re.match(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", chr(c))}
    for c in range(128):
        if chr(c) in "\r\n\x0b\x0c":
            continue  # line breaks, tested above
        assert normalize_text(f"a{chr(c)}z") == ("az" if c in deleted else f"a{chr(c)}z"), c


def test_the_ftfy_shortcut_accounts_for_every_fixer_normalisation_turns_on():
    """``curator.mojibake.ftfy_leaves_unchanged`` knows what fix_encoding, the C1, line-break,
    surrogate and terminal-escape fixers and NFC act on; turning on another ftfy fixer in
    ``curator.normalize`` must come with a matching change there."""
    from curator import normalize

    config = normalize._FTFY_LINE
    fixers = ("unescape_html", "fix_encoding", "fix_c1_controls", "fix_latin_ligatures", "fix_character_width",
              "uncurl_quotes", "fix_line_breaks", "fix_surrogates", "remove_terminal_escapes", "remove_control_chars")
    assert {name for name in fixers if getattr(config, name)} == {
        "fix_encoding", "fix_c1_controls", "fix_line_breaks", "fix_surrogates", "remove_terminal_escapes"}
    assert config.normalization == "NFC"
