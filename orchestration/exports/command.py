"""`respawn scores`: the latest scores, cut into segments, printed and exported as CSV.

It reads the export (`$RESPAWN_HOME/exports/latest/`), never the warehouse: it holds no DuckDB
lock, so it can run while Dagster writes. (The work is in `orchestration.exports.printout`,
imported when the command runs: `respawn --help` stays quick.)

    respawn scores                                  # tiers, tenure, "high risk, played in 3 days"
    respawn scores --tier High --played-within 3    # one segment of your own
    respawn scores --tenure "first week" --out /tmp/segments
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

HELP = "print the latest churn scores by segment and export the segments as CSV"
DESCRIPTION = (
    "Read the latest export of the churn scores ($RESPAWN_HOME/exports/latest, written after "
    "every scoring run; never the warehouse), print the players by tier and by tenure and the "
    "segment 'high risk, played in the last 3 days' with their reasons, and write each segment "
    "as CSV under the export's segments/ folder (or --out). With --tier, --played-within or "
    "--tenure, print and write that one segment instead."
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("scores", help=HELP, description=DESCRIPTION)
    p.add_argument("--home", type=Path, help="data folder (default $RESPAWN_HOME, else ./data)")
    p.add_argument(
        "--date", type=date.fromisoformat, help="scoring date YYYY-MM-DD (default: the latest)"
    )
    p.add_argument(
        "--tier", action="append", metavar="TIER", help="keep High, Medium or Low (repeatable)"
    )
    p.add_argument(
        "--played-within", type=int, metavar="DAYS", help="keep players with a session in DAYS"
    )
    p.add_argument(
        "--tenure",
        metavar="BAND",
        help='keep one tenure band: "first week", "first month" or "30 days or more"',
    )
    p.add_argument("--top", type=int, default=10, help="players listed (default %(default)s)")
    p.add_argument("--out", type=Path, help="folder for the segment CSVs (default: the export's)")
    p.set_defaults(func=_run, parser=p)


def _run(args: argparse.Namespace) -> int:
    from orchestration.exports.printout import print_segments

    return print_segments(args)
