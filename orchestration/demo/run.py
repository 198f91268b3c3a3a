"""The main job, end to end: ingestor → simulated clients → Dagster (load, dedupe, dbt, train,
score) → report. Every step runs the real component: a `respawn serve` process, WebSocket
clients, the Dagster definitions the UI loads, a DuckDB file."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ingestion.settings import landing_root, respawn_home, truth_root
from ingestion.simulator import command

MARKER = ".respawn-demo"
INSTANCE_CONFIG = Path(__file__).resolve().parents[2] / "dagster_home" / "dagster.yaml"
# What a previous demo left in its home, cleared so that the report describes this run only.
_DEMO_OUTPUTS = (
    "landing",
    "truth",
    "models",
    "logs",
    "exports",
    "warehouse.duckdb",
    "warehouse.duckdb.wal",
)


def _step(n: int, total: int, text: str) -> None:
    print(f"\n==> [{n}/{total}] {text}", flush=True)


def prepare_home(home: Path) -> None:
    """Use `home` for the demo: refuse to touch data the demo did not make."""
    if home.exists() and any(home.iterdir()) and not (home / MARKER).exists():
        raise SystemExit(
            f"respawn demo: {home} holds data that the demo did not create; it will not touch it.\n"
            "Run the demo elsewhere: RESPAWN_HOME=/tmp/respawn-demo make demo"
        )
    for name in _DEMO_OUTPUTS:
        path = home / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text("created by `respawn demo`; the demo clears its own outputs here\n")


def simulate_argv(
    players: int, days: int, start: date, seed: int, url: str, token: str, home: Path
) -> list[str]:
    """The `respawn simulate` arguments of the demo. The token is passed as `--token=...`: a
    random URL-safe token can start with `-`, which argparse would take for an option."""
    return [
        "simulate",
        "--players", str(players),
        "--days", str(days),
        "--start", start.isoformat(),
        "--seed", str(seed),
        "--url", url,
        f"--token={token}",
        "--truth-dir", str(truth_root(home)),
    ]  # fmt: skip


def simulate(argv: list[str]) -> int:
    """`respawn simulate` with these arguments, run by the simulator's own command module (the
    demo is itself a `respawn` subcommand: it does not call back into the command line)."""
    parser = argparse.ArgumentParser(prog="respawn")
    command.register(parser.add_subparsers())
    return command.run(parser.parse_args(argv))


def run_demo(players: int, days: int, seed: int, home: Path | None = None) -> int:
    home = (home or respawn_home()).resolve()
    os.environ["RESPAWN_HOME"] = str(home)  # the Dagster resources and dbt profile read it
    started = time.monotonic()
    total = 5
    prepare_home(home)
    dagster_home = Path(os.environ.setdefault("DAGSTER_HOME", str(home / "dagster")))
    dagster_home.mkdir(parents=True, exist_ok=True)
    if not (dagster_home / "dagster.yaml").exists():  # the pool settings `make dev` uses too
        shutil.copy(INSTANCE_CONFIG, dagster_home / "dagster.yaml")

    from orchestration.demo.ingestor import Ingestor, free_port

    _step(1, total, f"starting the ingestor (landing in {landing_root(home)})")
    ingestor = Ingestor(data_dir=home, port=free_port(), token=secrets.token_urlsafe(16))
    ingestor.start()
    print(f"    listening on {ingestor.url} (token required), pid {ingestor.pid}")
    try:
        _step(2, total, f"simulating {players:,} players over {days} days through the WebSocket")
        start = (datetime.now(UTC) - timedelta(days=days)).date()
        code = simulate(
            simulate_argv(players, days, start, seed, ingestor.url, str(ingestor.token), home)
        )
        if code != 0:
            print("respawn demo: the simulation failed; see above", file=sys.stderr)
            return code
    finally:
        _step(3, total, "stopping the ingestor (SIGTERM: answer in-flight frames, publish shards)")
        exit_code = ingestor.stop(signal.SIGTERM)
        print(f"    ingestor exited with {exit_code}")

    from orchestration.demo.materialize import materialize_everything

    _step(4, total, "running the Dagster jobs (load → events → dbt → ML → exports)")
    runs = materialize_everything(home)

    from orchestration.demo.report import print_report

    _step(5, total, "report")
    ok = print_report(home, runs.run_ids, runs.failed)
    print(f"\nDemo finished in {time.monotonic() - started:,.0f} s.")
    return 0 if ok and runs.ok else 1
