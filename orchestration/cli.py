"""The `respawn` console script: one command line over every part of the platform.

It lives in `orchestration`, the one package that may import all the others (the dependency
rule: `ingestion` and `ml` never import `orchestration`). Each subcommand is defined beside the
code it drives and added here by its module's `register(subparsers)`.
"""

from __future__ import annotations

import argparse
import sys

import ingestion.history.command
import ingestion.server.command
import ingestion.simulator.command
import orchestration.demo.command
import orchestration.exports.command
import orchestration.ml.command

# `respawn serve`, `respawn simulate`, `respawn import`, `respawn demo`, `respawn score`,
# `respawn scores`, in `respawn --help` order.
COMMANDS = (
    ingestion.server.command,
    ingestion.simulator.command,
    ingestion.history.command,
    orchestration.demo.command,
    orchestration.ml.command,
    orchestration.exports.command,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="respawn",
        description="Game telemetry to explainable churn predictions.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
