"""The `respawn demo` subcommand."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

HELP = "run the main job end to end on simulated players and print a report"
DESCRIPTION = (
    "Start the ingestor, simulate players through the WebSocket, materialize the whole asset "
    "graph through Dagster (the definitions the UI uses), stop the ingestor, and print what "
    "landed, what the marts hold, how the model does and who is most at risk."
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("demo", help=HELP, description=DESCRIPTION)
    p.add_argument("--players", type=int, default=1500, help="players (default %(default)s)")
    p.add_argument("--days", type=int, default=60, help="days simulated (default %(default)s)")
    p.add_argument("--seed", type=int, default=7, help="simulator seed (default %(default)s)")
    p.add_argument(
        "--home",
        type=Path,
        help="data folder (default $RESPAWN_HOME, else ./data)",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from orchestration.demo.run import run_demo  # heavy imports only when the command runs

    return run_demo(players=args.players, days=args.days, seed=args.seed, home=args.home)
