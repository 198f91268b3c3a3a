"""`respawn simulate`: realistic players with known churn, sent to an ingestor or landed directly.

respawn simulate --players 1000 --days 30                  # to ws://127.0.0.1:8765
respawn simulate --players 150000 --to-landing data/landing  # straight into shards
respawn simulate --profile casual-mobile --players 20000 --days 120 --to-landing data/landing
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ingestion import usage

FAULT_FLAGS = (
    ("duplicate", "per event: the client sends it again in an extra frame"),
    ("malformed", "per event: a corrupted copy is sent too (dead-lettered)"),
    ("clock_skew", "per device: clock off by minutes to hours, a third drifting"),
    ("offline", "per session: delivered hours later in one batch"),
    ("out_of_order", "per session: two events delivered in swapped order"),
    ("drop_connection", "per frame: the connection drops before the ack (a resend follows)"),
)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-01-31") from None


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a rate between 0 and 1")
    return value


def _rollout(text: str) -> float | None:
    return None if text.lower() == "none" else _rate(text)


HELP = "simulate players with known churn and send their events"
DESCRIPTION = (
    "Simulate a population of players (installs, sessions, matches, rage quits, churn and "
    "returns) and send their v1 events as web clients would, faults included, to a running "
    "ingestor; or, with --to-landing, write them straight into published landing shards. Ground "
    "truth is written to the truth directory."
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("simulate", help=HELP, description=DESCRIPTION)
    g = p.add_argument_group("population")
    g.add_argument("--players", type=int, default=1000, help="players (default %(default)s)")
    g.add_argument(
        "--events",
        type=int,
        help="about this many events: sets --players (measured on a sample of the same flags)",
    )
    g.add_argument("--days", type=int, default=30, help="days simulated (default %(default)s)")
    g.add_argument("--start", type=_date, help="first day, UTC (default: today minus --days)")
    g.add_argument("--seed", type=int, default=0, help="same seed and flags, same events")
    g.add_argument(
        "--profile",
        choices=("default", "casual-mobile"),
        default="default",
        help="kind of game: default (multiplayer web game, daily players) or casual-mobile "
        "(most new players leave within days, a median of 2 sessions)",
    )
    g.add_argument(
        "--truth-dir",
        type=Path,
        help="ground truth output (default $RESPAWN_HOME/truth; beside DIR with --to-landing)",
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    o = p.add_argument_group("output")
    o.add_argument(
        "--to-landing",
        metavar="DIR",
        type=landing_target,
        help="write published shards under landing root DIR instead of sending over WebSocket; "
        "DIR may be s3://bucket/prefix (in-flight shards under $RESPAWN_HOME/landing, each "
        "published with one PUT; endpoint: RESPAWN_S3_ENDPOINT_URL)",
    )
    o.add_argument("--workers", type=int, help="--to-landing processes (default: one per core)")
    o.add_argument("--url", default="ws://127.0.0.1:8765", help="ingestor (default %(default)s)")
    o.add_argument(
        "--token",
        default=os.environ.get("RESPAWN_TOKEN"),
        help="bearer token for the Authorization header [RESPAWN_TOKEN]",
    )
    o.add_argument("--origin", help="Origin header to send, if the ingestor checks")
    o.add_argument("--connections", type=int, default=4, help="WebSocket connections (default 4)")
    o.add_argument("--rate", type=float, help="target events per second (all)")
    o.add_argument("--window", type=int, default=32, help="frames in flight per connection")
    o.add_argument("--ack-timeout", type=float, default=10.0, help="seconds before a resend")
    o.add_argument("--batch-size", type=int, default=50, help="events per envelope (max 500)")

    f = p.add_argument_group("faults (all on by default at realistic levels)")
    f.add_argument("--no-faults", action="store_true", help="clean data: every rate 0, no rollout")
    for name, help_text in FAULT_FLAGS:
        f.add_argument(
            f"--{name.replace('_', '-')}-rate",
            dest=name,
            metavar="RATE",
            type=_rate,
            help=help_text,
        )
    f.add_argument(
        "--rollout-at",
        type=_rollout,
        default=argparse.SUPPRESS,
        help="share of the period when the new client ships (old clients send bare events); "
        "'none' for no rollout",
    )
    p.set_defaults(func=run)


def build_config(args: argparse.Namespace) -> Any:
    from ingestion.simulator.config import FaultRates, SimConfig

    faults = FaultRates.none() if args.no_faults else FaultRates()
    overrides = {name: getattr(args, name) for name, _ in FAULT_FLAGS}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if "rollout_at" in args:
        overrides["rollout_at"] = args.rollout_at
    if overrides:
        faults = FaultRates(**{**{k: getattr(faults, k) for k in faults.__slots__}, **overrides})
    start = args.start or datetime.now(UTC).date() - timedelta(days=args.days)
    cfg = SimConfig(
        players=args.players,
        days=args.days,
        start=start,
        seed=args.seed,
        faults=faults,
        batch_size=args.batch_size,
        profile=args.profile,
    )
    if args.events is not None:
        from ingestion.simulator.players import events_per_player

        if args.events < 1:
            raise ValueError(f"--events must be at least 1, got {args.events}")
        per_player = events_per_player(cfg)
        players = max(1, math.ceil(args.events / per_player))
        print(
            f"--events {args.events:,}: {players:,} players (about {per_player:.1f} events each "
            f"over {cfg.days} days)",
            file=sys.stderr,
        )
        cfg = replace(cfg, players=players)
    return cfg


def landing_target(text: str) -> Path | str:
    """`--to-landing`: a local directory, or an object-storage URL kept as written."""
    return text if text.startswith("s3://") else Path(text)


def run(args: argparse.Namespace) -> int:
    from ingestion.settings import truth_root
    from ingestion.simulator.run import run_simulation

    try:
        cfg = build_config(args)
    except ValueError as e:
        return usage.refuse("simulate", e)
    if args.truth_dir is not None:
        truth_dir = args.truth_dir
    elif isinstance(args.to_landing, Path):
        truth_dir = truth_root(args.to_landing.resolve().parent)
    else:
        truth_dir = truth_root()
    return run_simulation(cfg, args, truth_dir)
