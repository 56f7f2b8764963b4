"""The CLI starts without the compute stacks: every command (and each of the suite's hundreds of
CLI runs) pays the imports of ``curator.cli`` before it does anything, and a client of a running
service never needs numba, scipy or the readers. They load when a step runs in-process."""

import json
import subprocess
import sys

HEAVY = ("numba", "scipy", "ftfy", "curator.dedup.run", "curator.ingest.pipeline", "torch", "transformers")


def test_importing_the_cli_leaves_the_compute_stacks_unloaded():
    code = f"import sys, json, curator.cli; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True).stdout)
    assert loaded == []


def test_the_lazy_package_names_still_resolve():
    import curator.dedup as dedup
    import curator.ingest as ingest

    assert dedup.run_dedup.__module__ == "curator.dedup.run"
    assert dedup.DedupParams().num_perm == 128
    assert "chat" in ingest.FORMATS and ingest.ingest_paths.__module__ == "curator.ingest.pipeline"
