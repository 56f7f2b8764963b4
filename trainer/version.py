"""Read an exported dataset version (``curator export NAME@N --format openai``).

The manifest is the contract: every split file's sha256 must match it, and only an approved
version may be trained on, so a run is always tied to bytes a steward signed off.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import TrainerError

SPLITS = ("train", "validation", "test")


@dataclass
class Export:
    root: Path
    manifest: dict
    splits: dict[str, list[list[dict]]] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return self.manifest.get("ref") or f"{self.manifest.get('name')}@{self.manifest.get('number')}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_split(path: Path) -> list[list[dict]]:
    examples = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            messages = json.loads(line)["messages"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise TrainerError(f"{path}:{lineno}: expected {{\"messages\": [...]}}: {exc}") from None
        if not isinstance(messages, list) or not all(
                isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                for m in messages):
            raise TrainerError(f"{path}:{lineno}: messages must be a list of {{role, content}} strings")
        if not any(m["role"] == "assistant" for m in messages):
            raise TrainerError(f"{path}:{lineno}: no assistant message to learn from")
        examples.append(messages)
    return examples


def read_export(root: Path | str, require_approved: bool = True) -> Export:
    """Verify the manifest's hashes and status, then load the three splits."""
    root = Path(root)
    manifest_path = root / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TrainerError(f"{manifest_path} not found: pass a directory written by "
                           "`curator export NAME@N --format openai --out DIR`") from None
    except json.JSONDecodeError as exc:
        raise TrainerError(f"{manifest_path}: not valid JSON: {exc}") from None
    ref = manifest.get("ref") or manifest.get("name")
    if require_approved and manifest.get("status") != "approved":
        raise TrainerError(f"{manifest_path}: version {ref} has status {manifest.get('status')!r}; only an "
                           "approved version can be trained on (a steward approves it first)")
    splits = manifest.get("splits")
    if not isinstance(splits, dict) or not all(s in splits for s in SPLITS):
        raise TrainerError(f"{manifest_path}: 'splits' must describe {', '.join(SPLITS)}")
    export = Export(root=root, manifest=manifest)
    for name in SPLITS:
        info = splits[name]
        files = {f: h for f, h in (info.get("files") or {}).items() if f.endswith(".jsonl")}
        if len(files) != 1:
            raise TrainerError(f"{manifest_path}: split {name!r} must list one .jsonl file with its sha256 "
                               "(an export in the openai format)")
        (file, expected), = files.items()
        path = root / file
        if not path.is_file():
            raise TrainerError(f"{path}: missing (manifest lists it for split {name!r})")
        actual = _sha256(path)
        if actual != expected:
            raise TrainerError(f"{path}: sha256 {actual[:12]}… does not match the manifest's "
                               f"{str(expected)[:12]}…: the export was changed after it was written")
        export.splits[name] = _read_split(path)
        if "count" in info and info["count"] != len(export.splits[name]):
            raise TrainerError(f"{path}: {len(export.splits[name])} examples, the manifest says {info['count']}")
    if not export.splits["train"]:
        raise TrainerError(f"{root}: the train split is empty")
    return export
