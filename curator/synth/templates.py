"""Prompt templates for synthesis: JSON files, bundled (``qa``, ``summary``, ``extraction``,
``classification``) or the user's own (``--template path/to/file.json``), versioned by the sha256
of their bytes so a changed template is a new generation lineage and never a cache hit.

A template declares the fields the model must return (a JSON schema built from them is sent as
``response_format``), which field is the verbatim evidence that grounds the answer, and how the
fields become the stored example's user and assistant messages. ``{chunk}`` in those formats is
the source passage, so an example can carry its context (summaries, extraction, classification).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from ..errors import InputError

TEMPLATES_DIR = Path(__file__).parent / "templates"


class TemplateSpec(BaseModel):
    """What a template file must hold; unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    system: str = Field(min_length=1)
    instruction: str = Field(min_length=1, description="the user prompt; must contain {chunk}")
    variant: str = Field("", description="added when --n-per-chunk > 1; may use {k} and {n}")
    fields: dict[str, str] = Field(description="field name -> what the model should put there")
    labels: Optional[list[str]] = Field(None, description="allowed values of the `label` field")
    grounding: str = Field("evidence_quote", description="field whose text must occur in the passage")
    user: str = Field(description="the example's user message, from fields and {chunk}")
    assistant: str = Field(description="the example's assistant message, from fields")
    seeds: int = Field(2, ge=0, le=10, description="approved examples of this template shown as few-shot")

    @model_validator(mode="after")
    def _consistent(self) -> "TemplateSpec":
        if "{chunk}" not in self.instruction:
            raise ValueError("instruction must contain {chunk}")
        if self.grounding not in self.fields:
            raise ValueError(f"grounding field {self.grounding!r} is not among fields {sorted(self.fields)}")
        if self.labels is not None and "label" not in self.fields:
            raise ValueError("labels are given but there is no `label` field")
        for what in ("user", "assistant"):
            try:
                getattr(self, what).format(chunk="", **{k: "" for k in self.fields})
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"{what} format refers to an unknown field: {exc}") from None
        return self


@dataclass(frozen=True)
class Template:
    spec: TemplateSpec
    hash: str                                   # sha256 of the template file's bytes
    schema: type[BaseModel]                     # what the model's JSON must validate as

    @property
    def name(self) -> str:
        return self.spec.name

    def messages(self, chunk: str, k: int, n: int, seeds: list[str] = ()) -> list[dict]:
        variant = self.spec.variant.format(k=k + 1, n=n) if n > 1 else ""
        user = self.spec.instruction.replace("{variant}", variant).replace("{chunk}", chunk)
        system = self.spec.system
        if seeds:
            system += ("\n\nExamples that expert reviewers approved; match their kind and quality, "
                       "not their content:\n\n" + "\n\n".join(seeds))
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def example_messages(self, value: BaseModel, chunk: str) -> list[dict]:
        fields = value.model_dump()
        return [{"role": "user", "content": self.spec.user.format(chunk=chunk, **fields).strip()},
                {"role": "assistant", "content": self.spec.assistant.format(chunk=chunk, **fields).strip()}]

    def evidence(self, value: BaseModel) -> str:
        return getattr(value, self.spec.grounding)


def _schema(spec: TemplateSpec) -> type[BaseModel]:
    """A pydantic model of the fields: non-empty strings; ``label`` restricted to the labels."""
    fields = {}
    for name, description in spec.fields.items():
        kind = Literal[tuple(spec.labels)] if name == "label" and spec.labels else str
        fields[name] = (kind, Field(min_length=1, description=description) if kind is str
                        else Field(description=description))
    return create_model(f"{spec.name.title().replace('-', '').replace('.', '')}Output", **fields)


def load_template(name_or_path: str) -> Template:
    """A bundled template by name, or a template file by path; errors name the file and the field."""
    path = Path(name_or_path)
    if not (path.suffix == ".json" and path.is_file()):
        path = TEMPLATES_DIR / f"{name_or_path}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in TEMPLATES_DIR.glob("*.json")))
        raise InputError(f"unknown template {name_or_path!r}; choose one of {known} or give a .json file")
    raw = path.read_bytes()
    try:
        spec = TemplateSpec.model_validate(orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(template)"
        raise InputError(f"{path}: field {where}: {first['msg']}") from None
    return Template(spec, hashlib.sha256(raw).hexdigest(), _schema(spec))


def bundled() -> list[str]:
    return sorted(p.stem for p in TEMPLATES_DIR.glob("*.json"))
