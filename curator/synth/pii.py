"""PII policy applied to text before it leaves for an external model provider.

Detection is Presidio's analyzer. Its pattern recognizers (e-mail, phone, credit card, US SSN,
IP, IBAN, ...) run offline; the NLP engine is a blank spaCy English tokenizer, built in
process, so context words ("ssn", "card", "phone") still raise scores and nothing is
downloaded. When the user has installed a spaCy pipeline (``pip install en_core_web_lg`` or
``_sm``/``_md``/``_trf``), it is used instead and PERSON / LOCATION / NRP come from its NER.
``active_detectors()`` says which detectors are on.

Policies, per settings:
- ``block``: nothing is sent; the reason names the entity types found.
- ``redact``: each detected value becomes a placeholder such as ``<EMAIL_ADDRESS_1>``; the same
  value always gets the same placeholder, across every chunk of one document when the chunks
  share one ``Redactor``. ``Redactor.restore`` puts the values back in the model's output.
- ``allow``: explicit opt-in (for local endpoints): the text goes as is, findings still reported.

Generated outputs are scanned with ``scan`` too, and the findings stored for the reviewer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from curator.errors import CuratorError, InputError

Policy = Literal["block", "redact", "allow"]
POLICIES: tuple[str, ...] = ("block", "redact", "allow")

# Findings below this score are dropped: it keeps the "very weak" patterns (any 9-digit number
# as an SSN, any 8-17 digit number as a bank account) from redacting contract clause numbers.
DEFAULT_SCORE_THRESHOLD = 0.4

# Pattern recognizers that work offline. URL and DATE_TIME are deliberately left out: contracts
# are full of dates and company web sites, which are not personal data.
_PATTERN_RECOGNIZERS = (
    "EmailRecognizer",
    "PhoneRecognizer",
    "CreditCardRecognizer",
    "UsSsnRecognizer",
    "UsItinRecognizer",
    "UsPassportRecognizer",
    "UsBankRecognizer",
    "IpRecognizer",
    "IbanRecognizer",
    "CryptoRecognizer",
    "MedicalLicenseRecognizer",
)
# Preferred order when several spaCy pipelines are installed.
_SPACY_MODELS = ("en_core_web_trf", "en_core_web_lg", "en_core_web_md", "en_core_web_sm")
NER_ENTITIES = ("PERSON", "LOCATION", "NRP")

_PLACEHOLDER = re.compile(r"<([A-Z][A-Z_]*_\d+)>")


@dataclass(frozen=True)
class Finding:
    entity_type: str
    start: int
    end: int
    score: float
    text: str


@dataclass
class Redactor:
    """Placeholders for one document: a value seen again, in any chunk, keeps its placeholder."""

    by_value: dict[str, str] = field(default_factory=dict)
    by_placeholder: dict[str, str] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def placeholder(self, entity_type: str, value: str) -> str:
        if value in self.by_value:
            return self.by_value[value]
        n = self.counters.get(entity_type, 0) + 1
        self.counters[entity_type] = n
        tag = f"<{entity_type}_{n}>"
        self.by_value[value] = tag
        self.by_placeholder[tag] = value
        return tag

    def redact(self, text: str, findings: list[Finding]) -> str:
        parts, pos = [], 0
        for f in sorted(findings, key=lambda f: f.start):
            parts += [text[pos : f.start], self.placeholder(f.entity_type, f.text)]
            pos = f.end
        parts.append(text[pos:])
        return "".join(parts)

    def restore(self, text: str) -> str:
        """Put the original values back; placeholders this document never issued stay as is."""
        return _PLACEHOLDER.sub(lambda m: self.by_placeholder.get(m.group(0), m.group(0)), text)


@dataclass
class PolicyResult:
    text_to_send: str | None
    blocked_reason: str | None
    findings: list[Finding]
    mapping: Redactor | None


def installed_spacy_model() -> str | None:
    """The spaCy pipeline used for NER, or None when none is installed (none is downloaded)."""
    import spacy.util

    installed = set(spacy.util.get_installed_models())
    return next((m for m in _SPACY_MODELS if m in installed), None)


def active_detectors() -> list[str]:
    """Names of the detectors in use: the pattern recognizers, plus the NER model if installed."""
    return sorted(r.name for r in _analyzer().registry.recognizers)


def scan(text: str, score_threshold: float = DEFAULT_SCORE_THRESHOLD) -> list[Finding]:
    """PII findings in ``text``, overlaps resolved, in text order."""
    if not text.strip():
        return []
    results = _analyzer().analyze(text=text, language="en", score_threshold=score_threshold)
    found = [Finding(r.entity_type, r.start, r.end, round(r.score, 4), text[r.start : r.end])
             for r in results]
    return _resolve_overlaps([f for f in found if not _clause_number(text, f)])


def apply_policy(text: str, policy: Policy, mapping: Redactor | None = None,
                 score_threshold: float = DEFAULT_SCORE_THRESHOLD) -> PolicyResult:
    """Decide what, if anything, of ``text`` may be sent to the model provider."""
    if policy not in POLICIES:
        raise InputError(f"unknown PII policy {policy!r}; use one of: {', '.join(POLICIES)}")
    findings = scan(text, score_threshold)
    if policy == "allow" or not findings:
        return PolicyResult(text, None, findings, mapping)
    if policy == "block":
        return PolicyResult(None, block_reason(findings), findings, mapping)
    mapping = mapping if mapping is not None else Redactor()
    return PolicyResult(mapping.redact(text, findings), None, findings, mapping)


def block_reason(findings: list[Finding]) -> str:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.entity_type] = counts.get(f.entity_type, 0) + 1
    listed = ", ".join(f"{t} x{n}" for t, n in sorted(counts.items()))
    return f"PII policy 'block': found {listed}"


_CLAUSE = re.compile(r"\d{1,2}(\.\d{1,2}){3}")


def _clause_number(text: str, f: Finding) -> bool:
    """A contract heading "1.1.1.2 the Receiving Party..." is not an IP address: an IPv4 match
    with short octets at the start of a line, and no "ip"-like context word raising its score."""
    if f.entity_type != "IP_ADDRESS" or f.score > 0.6 or not _CLAUSE.fullmatch(f.text):
        return False
    line_start = text.rfind("\n", 0, f.start) + 1
    return not text[line_start : f.start].strip()


def _resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Keep the highest-scoring, then longest, of any overlapping findings."""
    kept: list[Finding] = []
    for f in sorted(findings, key=lambda f: (-f.score, -(f.end - f.start), f.start)):
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


@lru_cache(maxsize=1)
def _analyzer():
    try:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, predefined_recognizers
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
    except ImportError as e:
        raise CuratorError("PII detection needs presidio-analyzer: pip install presidio-analyzer "
                         "(or set the PII policy to 'allow' for a local endpoint)") from e

    blank_engine, email_recognizer = _engine_classes()
    model = installed_spacy_model()
    if model:
        engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": model}])
    else:
        engine = blank_engine()
    engine.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    for name in _PATTERN_RECOGNIZERS:
        cls = email_recognizer if name == "EmailRecognizer" else getattr(
            predefined_recognizers, name)
        registry.add_recognizer(cls())
    if model:
        registry.add_recognizer(predefined_recognizers.SpacyRecognizer(
            supported_entities=list(NER_ENTITIES), name=f"SpacyRecognizer({model})"))
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])


def _lowercase_lemmas(doc):
    # Presidio matches context words against lemmas; a blank pipeline has none.
    for token in doc:
        token.lemma_ = token.lower_
    return doc


def _blank_english():
    import spacy
    from spacy.language import Language

    if "curator_lowercase_lemmas" not in Language.factories:
        Language.component("curator_lowercase_lemmas", func=_lowercase_lemmas)
    nlp = spacy.blank("en")
    nlp.add_pipe("curator_lowercase_lemmas")
    return nlp


@lru_cache(maxsize=1)
def _engine_classes():
    # Built on first use, so importing this module does not import presidio or spaCy.
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    class BlankSpacyEngine(SpacyNlpEngine):
        """spaCy tokenizer only: no model to download, no NER."""

        def __init__(self) -> None:
            super().__init__(models=[{"lang_code": "en", "model_name": "blank:en"}])

        def load(self) -> None:
            self.nlp = {"en": _blank_english()}

    class OfflineEmailRecognizer(EmailRecognizer):
        """Presidio checks the domain with tldextract, which fetches the public suffix list
        from the network by default; use the snapshot bundled with tldextract instead."""

        def __init__(self) -> None:
            import tldextract

            super().__init__(name="EmailRecognizer")
            self._tld = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

        def validate_result(self, pattern_text: str) -> bool:
            return self._tld(pattern_text).fqdn != ""

    return BlankSpacyEngine, OfflineEmailRecognizer

