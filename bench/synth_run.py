"""Cost accounting of one full synthesis run: every contractnli dev NDA through the ``qa``
template against the local OpenAI-compatible server (answers grounded in the passage it was
sent), priced with the settings' table for gpt-4o-mini. Prints the ``--dry-run`` estimate, what
the run paid (from ``generation_runs``, checked against ``llm_cache``), and a re-run that pays
nothing.

    python bench/synth_run.py [--documents 61] [--n-per-chunk 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from openai_server import OpenAIServer, last_user_message  # noqa: E402

from curator.config import Settings  # noqa: E402
from curator.ingest import IngestOptions, ingest_paths  # noqa: E402
from curator.store import open_store, rows  # noqa: E402
from curator.synth.synthesize import synthesize  # noqa: E402


def respond(body: dict) -> str:
    text = last_user_message(body).split("<passage>\n", 1)[1].rsplit("\n</passage>", 1)[0]
    words = text.split()
    return json.dumps({"question": f"What does the agreement say about {' '.join(words[:4])}?",
                       "answer": " ".join(words[:40]), "evidence_quote": " ".join(words[4:16])})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=61)
    parser.add_argument("--n-per-chunk", type=int, default=1)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "contractnli" / "dev.json")
    args = parser.parse_args()
    server = OpenAIServer(respond=respond).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            docs = json.loads(args.data.read_text())["documents"][: args.documents]
            src = Path(tmp) / "ndas.json"
            src.write_text(json.dumps({"documents": docs}))
            settings = Settings(db=Path(tmp) / "s.duckdb", state_dir=Path(tmp) / "state",
                                openai_base_url=server.base_url, openai_api_key="bench", model="gpt-4o-mini")
            conn = open_store(settings.db)
            ingest_paths(conn, [src], opts=IngestOptions(), actor="bench", source="contractnli")
            dry = synthesize(conn, settings, actor="bench", n_per_chunk=args.n_per_chunk, dry_run=True)
            started = time.perf_counter()
            run = synthesize(conn, settings, actor="bench", n_per_chunk=args.n_per_chunk)
            seconds = time.perf_counter() - started
            again = synthesize(conn, settings, actor="bench", n_per_chunk=args.n_per_chunk)
            runs = rows(conn, "llm.run_get", {"id": run.run_id})[0]
            cached = conn.execute("SELECT count(*), sum(prompt_tokens), sum(completion_tokens), sum(cost_usd) "
                                  "FROM llm_cache").fetchall()[0]
            conn.close()
    finally:
        server.stop()
    price = settings.prices["gpt-4o-mini"]
    print(f"model gpt-4o-mini at ${price['input']}/1M input, ${price['output']}/1M output tokens")
    print(f"dry run: {dry.documents} documents, {dry.chunks} chunks, {dry.requests} requests, "
          f"~{dry.estimated_prompt_tokens} prompt tokens, at most ${dry.estimated_cost_usd:.4f}")
    print(f"run {run.run_id}: sent {runs['requests']}, cache hits {runs['cache_hits']}, prompt tokens "
          f"{runs['prompt_tokens']}, completion tokens {runs['completion_tokens']}, cost ${runs['cost_usd']:.6f}, "
          f"status {runs['status']}, {seconds:.1f}s")
    print(f"llm_cache: {cached[0]} responses, {cached[1]} + {cached[2]} tokens, ${cached[3]:.6f}")
    print(f"examples added {run.examples_added}, near duplicates {run.near_duplicates}, exact duplicates "
          f"{run.duplicates}, outputs with PII {run.outputs_with_pii}, failures {dict(run.failures)}")
    print(f"re-run: {again.documents} pending documents, sent {again.sent}, cost ${again.cost_usd:.6f}")


if __name__ == "__main__":
    main()
