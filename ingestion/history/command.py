"""`respawn import`: bring a studio's history of v1 events into the landing.

respawn import exports/events-2024.jsonl.gz exports/events-2025.jsonl
respawn import --landing /srv/respawn/landing exports/*.jsonl.gz
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ingestion import usage

HELP = "import historical v1 events (JSONL, plain or gzipped) as published landing shards"
DESCRIPTION = (
    "Import a history of v1 events: one event per line, JSONL or gzipped JSONL, with an optional "
    "top-level received_at. Each line is validated by the contract the ingestor uses and lands "
    "in the receive-date partition its own time implies (received_at, else its timestamp); "
    "refused lines go to dead-letter with their code. A content already imported lands nothing; "
    "an interrupted import finishes where it stopped when run again."
)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not at least 1")
    return value


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("import", help=HELP, description=DESCRIPTION)
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="history files")
    p.add_argument(
        "--landing",
        metavar="DIR",
        help="landing root to import into (default $RESPAWN_HOME/landing)",
    )
    p.add_argument(
        "--chunk-lines",
        type=_positive,
        default=None,
        metavar="N",
        help="lines read, validated and landed at a time: bounds memory (default 20000)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ingestion.history.importer import CHUNK_LINES, ImportResult, import_file
    from ingestion.history.source import digest
    from ingestion.settings import LANDING_URL_VARIABLE, landing_root, landing_url

    # The import's manifest and its resumption are local files: it lands into a directory only.
    # Refused before anything lands, never a directory named `s3:` nor a landing the loader
    # does not read.
    bucket = args.landing if (args.landing or "").startswith("s3://") else None
    if bucket or (args.landing is None and landing_url()):
        where = bucket or f"{LANDING_URL_VARIABLE}={landing_url()}"
        return usage.refuse(
            "import",
            ValueError(
                f"cannot import into object storage ({where}): import into a local landing "
                "(--landing DIR, with RESPAWN_LANDING_URL unset) on a host whose landing the "
                "loader reads, or copy that landing's published shards into the bucket"
            ),
        )
    missing = [str(p) for p in args.paths if not p.is_file()]
    if missing:
        return usage.refuse("import", ValueError(f"no such file: {', '.join(missing)}"))
    root = (Path(args.landing) if args.landing else landing_root()).resolve()
    chunk_lines = args.chunk_lines or CHUNK_LINES
    results: list[ImportResult] = []
    for path in args.paths:
        source = digest(path)  # the manifest's key, and what the bar counts to
        with tqdm(
            total=source.lines,
            unit="line",
            desc=path.name,
            disable=args.no_progress,
            leave=False,
            file=sys.stderr,
        ) as bar:
            result = import_file(
                path, root, chunk_lines=chunk_lines, on_progress=bar.update, source=source
            )
        results.append(result)
        print(summary(result), flush=True)
    if len(results) > 1:
        landed = sum(r.landed for r in results if not r.already_imported)
        refused = sum(r.deadlettered for r in results if not r.already_imported)
        skipped = sum(r.already_imported for r in results)
        print(
            f"total: {landed:,} events landed, {refused:,} dead-lettered, "
            f"{skipped} file(s) already imported; landing {root}"
        )
    return 0


def summary(result: Any) -> str:
    """What one import did, in a few lines a person reads."""
    name = result.path
    if result.already_imported:
        return (
            f"{name}: already imported (sha256 {result.source.sha256[:16]}…, first from "
            f"{result.imported_from}): nothing landed"
        )
    lines = [
        f"{name}: {result.source.lines:,} lines -> {result.landed:,} events landed "
        f"({result.valid:,} valid, {result.unknown:,} of an unknown name or version), "
        f"{result.deadlettered:,} dead-lettered, {result.blank:,} blank; "
        f"{result.shards_written + result.shards_kept:,} shards in {result.seconds:,.1f} s"
        + (" (resumed an interrupted import)" if result.resumed else "")
    ]
    if result.first_received_at is not None:
        lines.append(f"  received from {result.first_received_at} to {result.last_received_at}")
    if result.refused:
        codes = ", ".join(f"{code} {n:,}" for code, n in sorted(result.refused.items()))
        lines.append(f"  dead-lettered by code: {codes} (landing/deadletter/, `index` = line - 1)")
    return "\n".join(lines)
