"""The `respawn` console script. Each subcommand lives beside the code it drives and registers
itself here through a `register(subparsers)` function."""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules that each add one or more subcommands.
COMMAND_MODULES: tuple[str, ...] = (
    "ingestion.server.command",
    "ingestion.simulator.command",
    "orchestration.demo.command",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="respawn",
        description="Game telemetry to explainable churn predictions.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
