"""``python -m trainer run EXPORT_DIR --base-model PATH --run-dir DIR [--config FILE]``: the process
the job runner starts. Also usable directly, and under ``accelerate launch -m trainer run ...``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .config import TrainConfig
from .errors import TrainerError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="train, evaluate, merge (re-running the same --run-dir resumes)")
    run_p.add_argument("export_dir", type=Path, help="directory written by `curator export NAME@N --format openai`")
    run_p.add_argument("--base-model", required=True, help="local folder or hub id")
    run_p.add_argument("--run-dir", type=Path, required=True)
    run_p.add_argument("--config", type=Path, help="YAML training config (unknown keys are errors)")
    run_p.add_argument("--name", help="served model name (default: the run directory's name)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = TrainConfig.load(args.config)  # a config typo is reported before torch is imported
        from .run import run

        run(args.export_dir, args.base_model, config, args.run_dir, args.name)
    except TrainerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
