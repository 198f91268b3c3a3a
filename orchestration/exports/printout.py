"""What `respawn scores` prints and writes: players by tier and tenure, then segments, each
as a CSV of the exported scores' rows (most at risk first)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from ml.report import markdown_table
from ml.score import TIERS
from orchestration.exports.layout import ExportFiles, export_files, exports_root
from orchestration.exports.segments import (
    LAST_PLAYED,
    RECENT_DAYS,
    TENURE,
    TENURE_BANDS,
    Segment,
    custom_segment,
    named_segments,
    played_within,
    reachable,
    reachable_rule,
    tenure_band,
)
from orchestration.exports.tables import REASONS_TEXT
from orchestration.exports.writer import CSV_FLOAT_FORMAT, read_scores

TENURE_CHOICES = tuple(label.split(" (")[0] for label, _, _ in TENURE_BANDS)


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else ""


def _by_tier(scores: pd.DataFrame) -> str:
    recent = played_within(scores, RECENT_DAYS)
    reach = reachable(scores)
    rows = []
    for tier in TIERS:
        mine = scores["risk_tier"] == tier
        rows.append(
            (
                tier,
                f"{int(mine.sum()):,}",
                _share(int(mine.sum()), len(scores)),
                f"{int((mine & recent).sum()):,}",
                f"{int((mine & reach).sum()):,}",
            )
        )
    header = ["tier", "players", "share", f"played in the last {RECENT_DAYS} days", "reachable"]
    return markdown_table(header, rows)


def _by_tenure(scores: pd.DataFrame) -> str:
    bands = tenure_band(scores)
    rows = []
    for label in [b for b, _, _ in TENURE_BANDS] + ["unknown"]:
        mine = bands == label
        if label == "unknown" and not mine.any():
            continue
        tiers = scores.loc[mine, "risk_tier"].value_counts()
        counts = [f"{int(tiers.get(t, 0)):,}" for t in TIERS]
        high = int(tiers.get(TIERS[0], 0))
        rows.append((label, f"{int(mine.sum()):,}", *counts, _share(high, int(mine.sum()))))
    return markdown_table(["tenure", "players", *TIERS, "High share"], rows)


def _players(frame: pd.DataFrame, top: int) -> str:
    rows = []
    for position, (_, p) in enumerate(frame.head(top).iterrows(), start=1):
        days = p.get(LAST_PLAYED)
        tenure = p.get(TENURE)
        rows.append(
            (
                position,
                p["user_id"],
                f"{p['churn_probability']:.1%}",
                p["risk_tier"],
                "" if days is None or pd.isna(days) else f"{int(days):,} d ago",
                "" if tenure is None or pd.isna(tenure) else f"{int(tenure):,} d",
                p.get(REASONS_TEXT) or "",
            )
        )
    header = ["#", "player", "churn probability", "tier", "last played", "tenure", "reasons"]
    return markdown_table(header, rows)


def _write(segment: Segment, frame: pd.DataFrame, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{segment.name}.csv"
    staged = folder / f".{segment.name}.csv.{os.getpid()}"
    frame.to_csv(staged, index=False, float_format=CSV_FLOAT_FORMAT)
    os.replace(staged, path)  # a reader sees the old file or the new one, whole
    return path


def _export(args: argparse.Namespace) -> ExportFiles:
    root = exports_root(args.home.resolve() if args.home else None)
    return export_files(root, args.date)


def _check_filters(args: argparse.Namespace) -> None:
    """--tier and --tenure name tiers and bands (argparse exits with the message, code 2)."""
    for tier in args.tier or ():
        if tier not in TIERS:
            args.parser.error(f"--tier {tier!r}: choose from {', '.join(TIERS)}")
    if args.tenure is not None and args.tenure not in TENURE_CHOICES:
        args.parser.error(f"--tenure {args.tenure!r}: choose from {', '.join(TENURE_CHOICES)}")


def print_segments(args: argparse.Namespace) -> int:
    _check_filters(args)
    files = _export(args)
    try:
        scores = read_scores(files)
    except FileNotFoundError as e:
        print(f"respawn scores: {e}", file=sys.stderr)
        return 1
    manifest = files.read_manifest() if files.manifest.exists() else {}
    folder = args.out or files.segments
    versions = ", ".join(manifest.get("model_versions", [])) or "unknown model"
    print(
        f"Churn scores of {manifest.get('scoring_date', '?')} ({versions}), exported "
        f"{manifest.get('exported_at', '?')}\nfrom {files.directory.resolve()}: "
        f"{len(scores):,} players; reachable = {reachable_rule(scores)}\n"
    )
    custom = args.tier or args.played_within is not None or args.tenure
    if custom:
        segments = [custom_segment(tuple(args.tier or ()), args.played_within, args.tenure)]
    else:
        print("By tier:\n\n" + _by_tier(scores) + "\n")
        print("By tenure:\n\n" + _by_tenure(scores) + "\n")
        segments = named_segments()
    written = []
    for segment in segments:
        frame = segment.of(scores)
        written.append((segment, len(frame), _write(segment, frame, folder)))
    first, first_count, first_path = written[0]
    print(f"{first.title}: {first_count:,} players (all of them in {first_path})\n")
    print(_players(first.of(scores), args.top) + "\n")
    print(f"Segments written to {folder}:")
    for segment, n, path in written:
        print(f"  {path.name:<34} {n:>8,} players  ({segment.title})")
    return 0
