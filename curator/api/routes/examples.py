"""Examples for reviewers and stewards: pages by status and kind (keyset on id, so a page is
stable while new examples arrive), and one example with its evidence span and dedup state."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

import orjson
from fastapi import APIRouter, HTTPException, Path, Query, status

from ...ops.dedup import MAX_ID
from ...store import rows
from ...config import Settings
from ..deps import Conn, Reviewer, SettingsDep

router = APIRouter(tags=["examples"])
JSON_COLUMNS = ("messages", "pii_findings", "metadata", "warnings")


def shown_origin(origin: str, settings: Settings) -> str:
    """An origin as reviewers see it: an upload as the client named it, a file the service read
    relative to the store's directory; never the server's absolute paths."""
    uploads = f"{settings.uploads_dir.resolve()}/"
    if origin.startswith(uploads):
        return origin[len(uploads):].partition("/")[2]
    home = f"{settings.db.resolve().parent}/"
    return origin[len(home):] if origin.startswith(home) else origin


def _decode(row: dict, settings: Settings) -> dict:
    if isinstance(row.get("origin"), str):
        row["origin"] = shown_origin(row["origin"], settings)
    for key in JSON_COLUMNS:
        if isinstance(row.get(key), str):
            row[key] = orjson.loads(row[key])
    return row


@router.get("/examples")
def list_examples(conn: Conn, settings: SettingsDep, _caller: Reviewer,
                  status_: Optional[Literal["candidate", "in_review", "approved", "rejected"]] = Query(None, alias="status"),
                  kind: Optional[Literal["extracted", "synthetic", "imported"]] = None,
                  after: int = Query(0, ge=0, le=MAX_ID, description="id of the last example of the previous page"),
                  limit: int = Query(100, ge=1, le=1000)) -> dict:
    items = [_decode(r, settings) for r in rows(conn, "examples.page", {"status": status_, "kind": kind, "after": after,
                                                              "limit": limit})]
    return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}


@router.get("/examples/{example_id}")
def get_example(example_id: Annotated[int, Path(ge=0, le=MAX_ID)], conn: Conn, settings: SettingsDep,
                _caller: Reviewer) -> dict:
    found = rows(conn, "examples.one", {"id": example_id})
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no example {example_id}")
    return _decode(found[0], settings)
