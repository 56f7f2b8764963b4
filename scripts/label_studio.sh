#!/usr/bin/env bash
# A local Label Studio for curator review: its own virtualenv (created when missing), a data dir
# under $CURATOR_STATE_DIR/label-studio, a server on 127.0.0.1 with the preset admin and token.
#   scripts/label_studio.sh install|init|start [--port P]|stop|status
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
exec "$PY" -m annotation.launcher "$@"
