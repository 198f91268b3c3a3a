"""One simulation run end to end, in either mode, with its truth files and closing summary."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson
from tqdm import tqdm

from ingestion import settings
from ingestion.landing.layout import Stream
from ingestion.landing.store import LandingStore, LocalStore, open_store
from ingestion.simulator.config import SimConfig
from ingestion.simulator.delivery import Frame
from ingestion.simulator.players import iter_players
from ingestion.simulator.sender import SenderOptions, SendError, send_frames
from ingestion.simulator.summary import Counts, format_summary
from ingestion.simulator.to_landing import run_to_landing
from ingestion.simulator.truth import ACKS, SUMMARY, TruthParts, TruthWriter


def simulate_to_ingestor(
    cfg: SimConfig, opts: SenderOptions, truth_dir: Path, show_progress: bool = True
) -> Counts:
    """Generate every player, then send their frames over WebSocket; truth and acks.csv too."""
    counts = Counts()
    truth = TruthWriter(truth_dir)
    per_player: list[list[Frame]] = []
    try:
        parts = TruthParts()
        for life, delivery in tqdm(
            iter_players(cfg),
            total=cfg.players,
            unit="player",
            desc="generate",
            disable=not show_progress,
            leave=False,
        ):
            counts.add_player(life, delivery)
            parts.add(life, delivery)
            per_player.append(delivery.frames)
        truth.write_parts(parts.take())
    finally:
        truth.close()
    total = sum(len(f.events) for frames in per_player for f in frames)
    with tqdm(
        total=total, unit="event", desc="send", disable=not show_progress, leave=False
    ) as bar:
        send_frames(per_player, opts, truth_dir / ACKS, counts, bar)
    return counts


def write_summary(
    truth_dir: Path,
    cfg: SimConfig,
    mode: str,
    counts: Counts,
    seconds: float,
    extra: dict[str, Any],
) -> None:
    doc = {
        "mode": mode,
        "config": {**asdict(cfg), "start": cfg.start.isoformat()},
        "seconds": round(seconds, 3),
        "counts": counts.as_dict(),
        **extra,
    }
    (truth_dir / SUMMARY).write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))


def run_simulation(cfg: SimConfig, args: argparse.Namespace, truth_dir: Path) -> int:
    started = time.monotonic()
    progress = not args.no_progress
    if args.to_landing is not None:
        mode = "landing"
        if isinstance(args.to_landing, Path):
            landing_root = args.to_landing.resolve()
            store: LandingStore = LocalStore(landing_root)
        else:  # object storage: the shards are in flight on local disk, then PUT
            landing_root = settings.landing_root()
            store = open_store(args.to_landing)
        existing = len(store.published(Stream.EVENTS))
        if existing:
            print(
                f"respawn simulate: note: {store.location} already holds {existing} shards; the "
                "new ones are added beside them (the same seed lands the same event ids again)",
                file=sys.stderr,
            )
        counts = run_to_landing(cfg, landing_root, truth_dir, args.workers, progress, store)
        extra: dict[str, Any] = {"landing_root": store.location}
    else:
        mode = "websocket"
        if cfg.end_ms > time.time() * 1000:
            print(
                "respawn simulate: warning: the period ends in the future; its events carry "
                "future timestamps (choose --start so that start + --days is before today)",
                file=sys.stderr,
            )
        opts = SenderOptions(
            url=args.url,
            token=args.token,
            origin=args.origin,
            connections=max(1, args.connections),
            rate=args.rate,
            window=max(1, args.window),
            ack_timeout=args.ack_timeout,
        )
        try:
            counts = simulate_to_ingestor(cfg, opts, truth_dir, progress)
        except SendError as e:
            print(f"respawn simulate: {e}", file=sys.stderr)
            return 1
        extra = {"url": args.url, "connections": opts.connections}
    seconds = time.monotonic() - started
    write_summary(truth_dir, cfg, mode, counts, seconds, extra)
    print(format_summary(counts, mode, seconds))
    print(f"truth: {truth_dir}")
    return 0
