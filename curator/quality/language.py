"""Language of the response by py3langid, whose model ships inside its wheel (no download, no
network): the identifier runs where the service runs, offline."""

from __future__ import annotations

from functools import lru_cache

from ..errors import InputError
from .base import Flag, QualityFilter, Sample


@lru_cache(maxsize=1)
def _identifier():
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError as exc:  # a dependency of curator; say how to get it back
        raise InputError("the language rule needs py3langid: pip install py3langid") from exc
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


class Language(QualityFilter):
    """Responses outside the allowed languages; texts shorter than ``min_chars`` are kept, since
    an identifier guesses on a handful of characters."""

    name = "language"
    description = "response language not in the allowed set (py3langid; short texts are not judged)"

    def __init__(self, allowed: tuple[str, ...] = ("en",), min_chars: int = 40, min_confidence: float = 0.8):
        if not allowed:
            raise InputError("language: give at least one allowed language code (e.g. en)")
        self.allowed = tuple(code.lower() for code in allowed)
        self.min_chars, self.min_confidence = min_chars, min_confidence

    def check(self, sample: Sample) -> Flag | None:
        text = sample.response.strip()
        if len(text) < self.min_chars:
            return None
        lang, confidence = _identifier().classify(text)
        if lang not in self.allowed and confidence >= self.min_confidence:
            return self.flag(f"language {lang} ({confidence:.2f}) is not in {', '.join(self.allowed)}", lang)
        return None
