"""Judge templates: JSON files (bundled ``rubric`` or ``--template path.json``), versioned by the
sha256 of their bytes so a changed rubric is a new judgement lineage, never a cache hit."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import InputError

TEMPLATES_DIR = Path(__file__).parent / "templates"
SLOTS = ("{source}", "{prompt}", "{response}")


class JudgeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    system: str = Field(min_length=1)
    instruction: str = Field(description="the grading prompt; must contain {source}, {prompt} and {response}")

    @field_validator("instruction")
    @classmethod
    def _slots(cls, text: str) -> str:
        missing = [s for s in SLOTS if s not in text]
        if missing:
            raise ValueError(f"instruction must contain {', '.join(missing)}")
        return text


@dataclass(frozen=True)
class JudgeTemplate:
    spec: JudgeSpec
    hash: str

    @property
    def name(self) -> str:
        return self.spec.name

    def messages(self, source: str, prompt: str, response: str) -> list[dict]:
        text = (self.spec.instruction.replace("{source}", source or "(no source passage)")
                .replace("{prompt}", prompt or "(none)").replace("{response}", response))
        return [{"role": "system", "content": self.spec.system}, {"role": "user", "content": text}]


def load_judge_template(ref: str | None) -> JudgeTemplate:
    """A bundled template by name (default ``rubric``) or a JSON file by path."""
    path = Path(ref) if ref and (ref.endswith(".json") or "/" in ref) else TEMPLATES_DIR / f"{ref or 'rubric'}.json"
    if not path.is_file():
        bundled = ", ".join(sorted(p.stem for p in TEMPLATES_DIR.glob("*.json")))
        raise InputError(f"judge template {ref!r} not found: give a .json file or one of: {bundled}")
    raw = path.read_bytes()
    try:
        spec = JudgeSpec.model_validate_json(raw)
    except ValidationError as exc:
        raise InputError(f"judge template {path}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None
    return JudgeTemplate(spec, hashlib.sha256(raw).hexdigest()[:16])
