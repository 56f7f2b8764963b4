"""Model-client throughput: requests/s through ``curator.synth.client.generate`` (the real
``openai`` client, concurrency from settings) against the local OpenAI-compatible test server,
which runs in a process of its own so that its CPU time is not charged to the client.

    python bench/llm_client.py                       # 500 requests, concurrency 16, no latency
    python bench/llm_client.py --requests 2000 --concurrency 64 --latency 0.2

With no ``--latency`` the server answers at once, so this measures the client's own overhead
(the openai client, JSON parsing and validation, the DuckDB cache writes). With a latency L the
ceiling is concurrency / L requests/s. A second pass over the same payloads is served from the
cache and timed too. No assertion: it prints the figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from curator.config import Settings
from curator.store import open_store
from curator.synth.client import ChatRequest, generate

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.0, help="server latency per request, seconds")
    args = parser.parse_args()

    server = subprocess.Popen([sys.executable, str(REPO / "tests" / "openai_server.py"), "--latency",
                               str(args.latency)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        base_url = server.stdout.readline().strip()
        settings = Settings(openai_base_url=base_url, openai_api_key="bench", model="gpt-4o-mini",
                            concurrency=args.concurrency, request_timeout=30, max_retries=2)
        requests = [ChatRequest(f"r{i}", [{"role": "user", "content": f"bench question {i}: what is a chunk?"}])
                    for i in range(args.requests)]
        with tempfile.TemporaryDirectory() as tmp:
            conn = open_store(Path(tmp) / "bench.duckdb")
            cold = generate(conn, requests, settings)
            warm = generate(conn, requests, settings)
            conn.close()
    finally:
        server.stdin.close()
        server.wait(timeout=10)
    if cold.ok != args.requests or warm.cache_hits != args.requests:
        sys.exit(f"bench run incomplete: {cold.ok} ok, failures {cold.failures}; {warm.cache_hits} cache hits")
    ceiling = f", ceiling {args.concurrency / args.latency:.0f}/s" if args.latency else ""
    print(f"requests={args.requests} concurrency={args.concurrency} server_latency={args.latency}s{ceiling}")
    print(f"sent:   {cold.requests / cold.seconds:8.1f} requests/s ({cold.seconds:.2f}s, cost ${cold.cost_usd:.6f})")
    print(f"cached: {warm.cache_hits / warm.seconds:8.1f} requests/s ({warm.seconds:.2f}s, 0 sent)")


if __name__ == "__main__":
    main()
