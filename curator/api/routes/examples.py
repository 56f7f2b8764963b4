"""Examples for reviewers and stewards: pages by status and kind (keyset on id, so a page is
stable while new examples arrive), and one example with its evidence span and dedup state."""

from __future__ import annotations

from typing import Literal, Optional

import orjson
from fastapi import APIRouter, HTTPException, Query, status

from ...store import rows
from ..deps import Conn, Reviewer

router = APIRouter(tags=["examples"])
JSON_COLUMNS = ("messages", "pii_findings", "metadata", "warnings")


def _decode(row: dict) -> dict:
    for key in JSON_COLUMNS:
        if isinstance(row.get(key), str):
            row[key] = orjson.loads(row[key])
    return row


@router.get("/examples")
def list_examples(conn: Conn, _caller: Reviewer,
                  status_: Optional[Literal["candidate", "in_review", "approved", "rejected"]] = Query(None, alias="status"),
                  kind: Optional[Literal["extracted", "synthetic", "imported"]] = None,
                  after: int = Query(0, ge=0, description="id of the last example of the previous page"),
                  limit: int = Query(100, ge=1, le=1000)) -> dict:
    items = [_decode(r) for r in rows(conn, "examples.page", {"status": status_, "kind": kind, "after": after,
                                                              "limit": limit})]
    return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}


@router.get("/examples/{example_id}")
def get_example(example_id: int, conn: Conn, _caller: Reviewer) -> dict:
    found = rows(conn, "examples.one", {"id": example_id})
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no example {example_id}")
    return _decode(found[0])
