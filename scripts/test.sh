#!/usr/bin/env bash
# The test suite on a fresh machine, with nothing installed by hand: the virtualenv and the
# project with its dev extra (which pins the NER pipeline the PII tests need), Debian's chromium
# for the stats page test (installed with apt-get when missing and running as root; otherwise
# the command to run is printed and the run stops), then pytest with the arguments given.
#   scripts/test.sh                   the whole suite (what .ci/run runs)
#   scripts/test.sh -m "not slow"     the fast lane, ~2 min on 2 cores (no Label Studio, trainer, Ray,
#                                     browser, nor the end-to-end pipelines over the shared corpora)
#   scripts/test.sh tests/synth/test_pii.py -x
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

[ -x .venv/bin/python ] || python3.11 -m venv .venv
.venv/bin/pip install -q -e ".[dev]"

if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "scripts/test.sh: installing Debian's chromium for the stats page test" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "scripts/test.sh: the stats page test needs Debian's chromium: run 'sudo apt-get install -y chromium'" \
         "(or run the fast lane: scripts/test.sh -m \"not slow\")" >&2
    exit 1
  fi
fi

# pytest-xdist, each test module on one worker so its module-scoped store is built once and its
# tests keep their order; pass -n 0 to run in this process. One worker more than cores: about a
# third of the suite's time is spent waiting on the servers it starts (Label Studio, curator
# serve, Chromium), and the extra worker fills those waits (2 cores: 126 % → 170 % CPU, ~15 → ~13
# min). At most 8: each worker may start its own Label Studio. CURATOR_TEST_WORKERS overrides.
workers="${CURATOR_TEST_WORKERS:-$(( $(nproc) + 1 < 8 ? $(nproc) + 1 : 8 ))}"
exec .venv/bin/pytest -q -n "$workers" --dist loadfile "$@"
