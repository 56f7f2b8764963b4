"""Why rows are near-duplicates: the cluster of a row in the latest run, pairwise Jaccard,
shingles its members share, and the rule that chose the representative; and the byte-identical
copies of the row's file that ingest recorded (``file_copies``), so every copy of a row is traced
from one place. Also the steward's override of that choice."""

from __future__ import annotations

from itertools import combinations

import duckdb
import numpy as np
import orjson

from ..audit import record_audit
from ..errors import InputError
from ..sqlfiles import query
from ..store import rows, transaction
from . import shingles as sh
from .engines import get_engine
from .params import DedupParams
from .run import _target, texts_for, verify_pairs

MAX_MATRIX = 12  # members shown in the pairwise matrix


def _latest(conn, target: str) -> tuple[int, DedupParams]:
    found = rows(conn, "dedup.latest_run", {"target": target})
    if not found:
        raise InputError(f"no dedup run for {target}s yet: run `curator dedup` first")
    params = orjson.loads(found[0]["params"])
    missing = [k for k in DedupParams.model_fields if k not in params]
    if missing:  # a run recorded by hand or by an older version: its sketches cannot be re-made
        raise InputError(f"the latest dedup run of {target}s recorded no {', '.join(missing)}: "
                         "run `curator dedup` again")
    return found[0]["id"], DedupParams(**{k: params[k] for k in DedupParams.model_fields})


def _cluster(conn, target: str, run_id: int, row_id: int) -> list[dict]:
    return rows(conn, "dedup.cluster_of", {"run_id": run_id, "target": target, "row_id": row_id})


def file_copies(conn: duckdb.DuckDBPyConnection, target: str, ids: list[int]) -> dict[int, list[dict]]:
    """Row id → the byte-identical copies of its file met at ingest: ``{path, kept_path, batch_id}``."""
    out: dict[int, list[dict]] = {}
    for r in rows(conn, f"dedup.file_copies_{target}s", {"ids": ids}):
        out.setdefault(r.pop("row_id"), []).append(r)
    return out


def explain(conn: duckdb.DuckDBPyConnection, target_name: str, row_id: int, shared: int = 3) -> dict:
    target = _target(target_name)
    run_id, params = _latest(conn, target)
    members = _cluster(conn, target, run_id, row_id)
    if not members and not rows(conn, f"dedup.row_info_{target}s", {"ids": [row_id]}):
        raise InputError(f"no {target} with id {row_id}")
    copies = file_copies(conn, target, [row_id]).get(row_id, [])
    if not members:
        return {"target": target, "row_id": row_id, "run_id": run_id, "cluster": None, "file_copies": copies,
                "why": f"not a near-duplicate of any row at Jaccard ≥ {params.threshold} ({params.key})"}
    ids = [m["row_id"] for m in members]
    info = {r["id"]: r for r in rows(conn, f"dedup.row_info_{target}s", {"ids": ids})}
    rep = next(m for m in members if m["decision"] == "kept")
    shown = ids[:MAX_MATRIX]
    pairs = np.array(list(combinations(sorted(shown), 2)), dtype=np.int64).reshape(-1, 2)
    jac, _ = verify_pairs(conn, target, pairs, get_engine("local"), params)
    text_ids, texts = texts_for(conn, target, np.array(ids))
    text_of = dict(zip(text_ids.tolist(), texts.to_pylist()))
    rep_shingles = set(sh.shingles(text_of.get(rep["row_id"], ""), params))
    out_members = []
    for m in members:
        common = [] if m is rep else sorted(rep_shingles & set(sh.shingles(text_of.get(m["row_id"], ""), params)))
        out_members.append({**m, "origin": info[m["row_id"]]["origin"], "n_chars": info[m["row_id"]]["n_chars"],
                            "preview": info[m["row_id"]]["preview"],
                            "shared_shingles": [s.decode("utf-8", "replace") for s in common[:shared]]})
    return {"target": target, "row_id": row_id, "run_id": run_id, "params": params.model_dump(),
            "cluster": members[0]["cluster_id"], "representative": rep["row_id"], "why": rep["rule"],
            "file_copies": copies,
            "members": out_members,
            "pairwise": [{"a": int(a), "b": int(b), "jaccard": round(float(j), 4)} for (a, b), j in zip(pairs, jac)]}


def choose_representative(conn: duckdb.DuckDBPyConnection, target_name: str, row_id: int, actor: str,
                          method: str = "minhash") -> dict:
    """A steward keeps ``row_id`` instead of the rule's choice: recorded as an override (it wins in
    later runs of both methods) and applied now to the latest MinHash and semantic decisions of
    every cluster the row is in."""
    from . import semantic

    target = _target(target_name)
    found = rows(conn, "dedup.latest_run", {"target": target})
    minhash = _latest(conn, target) if found else None
    members = _cluster(conn, target, minhash[0], row_id) if minhash else []
    with transaction(conn):
        semantic_run, semantic_others = semantic.keep(conn, target, row_id)
        if not members and semantic_run is None:
            raise InputError(f"{target} {row_id} is in no near-duplicate cluster of the latest dedup runs "
                             "(MinHash or semantic)")
        if members:
            _keep_minhash(conn, target, row_id, minhash, members)
        others = sorted(({m["row_id"] for m in members} | set(semantic_others)) - {row_id})
        conn.execute(query("dedup.clear_overrides"), {"target": target, "ids": others})
        conn.execute(query("dedup.add_override"), {"target": target, "row_id": row_id, "actor": actor})
        record_audit(conn, actor, "dedup.keep", f"{target}:{row_id}",
                     {"run_id": minhash[0] if members else None, "cluster": members[0]["cluster_id"] if members else None,
                      "semantic_run_id": semantic_run})
    if method == "semantic" or minhash is None:
        return semantic.explain(conn, target_name, row_id)
    return explain(conn, target_name, row_id)


def _keep_minhash(conn, target: str, row_id: int, latest: tuple[int, DedupParams], members: list[dict]) -> None:
    run_id, params = latest
    others = [m["row_id"] for m in members if m["row_id"] != row_id]
    pairs = np.array([(min(o, row_id), max(o, row_id)) for o in others], dtype=np.int64).reshape(-1, 2)
    jac, _ = verify_pairs(conn, target, pairs, get_engine("local"), params)
    conn.execute(query("dedup.update_decision"), {"run_id": run_id, "target": target, "row_id": row_id,
                                                  "decision": "kept", "duplicate_of": None, "jaccard": None,
                                                  "rule": "chosen by a steward"})
    for other, j in zip(others, jac.tolist()):
        conn.execute(query("dedup.update_decision"), {"run_id": run_id, "target": target, "row_id": other,
                                                      "decision": "duplicate", "duplicate_of": row_id,
                                                      "jaccard": j, "rule": "chosen by a steward"})
