"""One writer per export format. Each writes the version's splits under a directory from
items in example order, so the same version always gives the same bytes."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa

from .splits import SPLITS

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
SCHEMA = pa.schema([("example_id", pa.int64()), ("messages", pa.list_(MESSAGE))])


def ordered(message: dict) -> dict:
    """role and content first, then any other keys sorted (name, tool_calls, weight)."""
    return {"role": message["role"], "content": message.get("content"),
            **{k: message[k] for k in sorted(message) if k not in ("role", "content")}}


def to_alpaca(messages: list[dict]) -> dict:
    """The last user → assistant exchange as instruction → output; system text and earlier
    exchanges as ``system`` and ``history`` (the LLaMA-Factory Alpaca fields)."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] in ("system", "developer") and m.get("content"))
    talk = [m for m in messages if m["role"] in ("user", "assistant")]
    last = max(i for i, m in enumerate(talk) if m["role"] == "assistant")
    user = next((i for i in range(last - 1, -1, -1) if talk[i]["role"] == "user"), None)
    history, pending = [], None
    for m in talk[:user if user is not None else last]:
        if m["role"] == "user":
            pending = m["content"]
        elif pending is not None:
            history.append([pending, m["content"]])
            pending = None
    return {"instruction": talk[user]["content"] if user is not None else "", "input": "",
            "output": talk[last]["content"], "system": system, "history": history}


def _table(items: list[dict]) -> pa.Table:
    return pa.table({"example_id": [i["example_id"] for i in items],
                     "messages": [[{"role": m["role"], "content": m.get("content") or ""} for m in i["messages"]]
                                  for i in items]}, schema=SCHEMA)


def write_openai(out: Path, by_split: dict[str, list[dict]], version: dict) -> None:
    for split in SPLITS:
        with open(out / f"{split}.jsonl", "wb") as f:
            for item in by_split[split]:
                f.write(orjson.dumps({"messages": [ordered(m) for m in item["messages"]]}) + b"\n")


def write_alpaca(out: Path, by_split: dict[str, list[dict]], version: dict) -> None:
    for split in SPLITS:
        records = [to_alpaca(item["messages"]) for item in by_split[split]]
        (out / f"{split}.json").write_bytes(orjson.dumps(records, option=orjson.OPT_INDENT_2) + b"\n")


def write_parquet(out: Path, by_split: dict[str, list[dict]], version: dict) -> None:
    import pyarrow.parquet as pq

    for split in SPLITS:
        pq.write_table(_table(by_split[split]), out / f"{split}.parquet", compression="zstd")


def write_hf(out: Path, by_split: dict[str, list[dict]], version: dict) -> None:
    try:
        import datasets
    except ImportError:
        from ..errors import InputError

        raise InputError("--format hf needs the Hugging Face datasets library: pip install 'curator[hf]'") from None
    datasets.disable_progress_bars()  # the CLI prints one line per export; no bar per split
    dd = datasets.DatasetDict({split: datasets.Dataset(_table(by_split[split]), fingerprint=f"{version['content_hash'][:32]}-{split}")
                               for split in SPLITS})
    dd.save_to_disk(str(out))


WRITERS = {"openai": write_openai, "alpaca": write_alpaca, "parquet": write_parquet, "hf": write_hf}
