"""POST /sql: a steward's read-only query against the store (see curator/readonly_sql.py for
what is refused and why). Each query is recorded in audit_log: who read what."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from ... import readonly_sql
from ...audit import record_audit
from ..deps import Conn, SettingsDep, Steward, actor

router = APIRouter(tags=["sql"])


class SqlQuery(BaseModel):
    sql: str = Field(min_length=1, max_length=100_000, description="one SELECT statement")
    max_rows: int | None = Field(None, gt=0, description="at most this many rows (capped by CURATOR_SQL_MAX_ROWS)")


@router.post("/sql")
def run_sql(body: SqlQuery, conn: Conn, settings: SettingsDep, caller: Steward) -> dict:
    cap = min(body.max_rows or settings.sql_max_rows, settings.sql_max_rows)
    outcome = "ok"
    try:
        result = readonly_sql.run(conn, body.sql, cap, settings.sql_timeout_s)
    except readonly_sql.SqlTimeout as exc:
        outcome = "timeout"
        raise HTTPException(status.HTTP_408_REQUEST_TIMEOUT, str(exc)) from None
    except readonly_sql.SqlRefused as exc:
        outcome = "refused"
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    finally:  # an append only: no need to queue behind the WRITE_LOCK of a running ingest
        with conn.cursor() as cur:
            record_audit(cur, actor(caller), "sql.query", None, {"sql": body.sql[:2000], "outcome": outcome})
    return result.as_dict() | {"max_rows": cap}
