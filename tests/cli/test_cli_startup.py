"""The CLI and the service start without the compute stacks: every command (and each of the
suite's hundreds of CLI runs and service starts) pays the imports of ``curator.cli`` or
``curator.api.app`` before it does anything, and a client of a running service never needs
numba, scipy or the readers. They load when a step runs."""

import json
import subprocess
import sys

import pytest

HEAVY = ("numba", "scipy", "ftfy", "curator.dedup.run", "curator.ingest.pipeline", "torch", "transformers")


@pytest.mark.parametrize("module", ["curator.cli", "curator.api.app"])
def test_importing_a_face_leaves_the_compute_stacks_unloaded(module):
    code = f"import sys, json, {module}; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True).stdout)
    assert loaded == []


def test_the_lazy_package_names_still_resolve():
    import curator.dedup as dedup
    import curator.ingest as ingest

    assert dedup.run_dedup.__module__ == "curator.dedup.run"
    assert dedup.DedupParams().num_perm == 128
    assert "chat" in ingest.FORMATS and ingest.ingest_paths.__module__ == "curator.ingest.pipeline"
