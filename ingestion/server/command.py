"""`respawn serve` (also `python -m ingestion.server`): run the ingestor until SIGTERM or SIGINT,
then drain and exit 0."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ingestion import usage
from ingestion.landing.recovery import recover_inflight
from ingestion.server import logs
from ingestion.server.config import ConfigError, ServerConfig, add_arguments, from_args, to_args

log = logging.getLogger("respawn.serve")


HELP = "run the WebSocket ingestor"
DESCRIPTION = (
    "Receive game events over WebSockets, validate them against the v1 contract and land them "
    "as JSONL shards under <data dir>/landing."
)


def register(subparsers: Any) -> None:
    _arguments(subparsers.add_parser("serve", help=HELP, description=DESCRIPTION))


def main(argv: list[str] | None = None) -> int:
    """`python -m ingestion.server`: the same command without the `respawn` front."""
    parser = argparse.ArgumentParser(prog="python -m ingestion.server", description=DESCRIPTION)
    _arguments(parser)
    return run(parser.parse_args(argv))


def _arguments(parser: argparse.ArgumentParser) -> None:
    add_arguments(parser)
    # Set by a supervising `respawn serve --workers N` on the processes it starts.
    parser.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = from_args(args)
    except ConfigError as e:
        return usage.refuse("serve", e)
    logs.configure(config.log_level)
    if args.worker_index is None:
        recover(config)
        if config.workers > 1:
            return supervise(config, args.token_file)
    try:
        return asyncio.run(serve(config, worker_index=args.worker_index))
    except OSError as e:  # e.g. the port is taken
        log.error("cannot start", extra={"fields": {"error": str(e)}})
        print(f"respawn serve: cannot start: {e}", file=sys.stderr)
        return 1


def recover(config: ServerConfig) -> None:
    """Publish what a crashed predecessor left in flight (torn last lines are dead-lettered)."""
    config.landing_root.mkdir(parents=True, exist_ok=True)
    report = recover_inflight(config.landing_root)
    if report.published or report.torn_lines:
        log.warning(
            "recovered in-flight shards of a previous run",
            extra={
                "fields": {
                    "published": [str(p) for p in report.published],
                    "torn_lines": report.torn_lines,
                }
            },
        )


async def serve(config: ServerConfig, worker_index: int | None = None) -> int:
    from ingestion.server.app import IngestServer  # websockets is only needed from here on

    # The commit thread needs the GIL back after each fsync to release the acks; by default the
    # event loop would keep it up to 5 ms longer, which then adds to every ack's latency.
    sys.setswitchinterval(0.001)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = IngestServer(config)
    await server.start(reuse_port=worker_index is not None)
    url = f"ws://{config.host}:{server.port}/"
    log.info(
        "listening",
        extra={
            "fields": {
                "url": url,
                "data_dir": str(config.data_dir),
                "durability": config.durability,
                "auth": config.token is not None,
                "allowed_origins": list(config.allowed_origins),
                "worker": worker_index,
            }
        },
    )
    if worker_index is None:
        print(startup_line(config, url), flush=True)
    await stop.wait()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # A second signal must not cut the drain short (it is bounded: DRAIN_SECONDS).
        loop.remove_signal_handler(sig)
        signal.signal(sig, signal.SIG_IGN)
    log.info("shutting down: draining connections, publishing shards")
    started = time.monotonic()
    await server.shutdown()
    log.info("stopped", extra={"fields": {"seconds": round(time.monotonic() - started, 3)}})
    return 0


def startup_line(config: ServerConfig, url: str) -> str:
    auth = "token required" if config.token else "no auth"
    workers = f", {config.workers} workers" if config.workers > 1 else ""
    return (
        f"respawn serve: listening on {url} | data dir {config.data_dir} (shards in landing/) | "
        f"durability {config.durability} | {auth}{workers} | Ctrl-C to stop"
    )


def supervise(config: ServerConfig, token_file: Path | None) -> int:
    """Run `config.workers` server processes on one port (SO_REUSEPORT; the kernel spreads the
    connections). Each has its own shards (the pid is in their names) and its own /metrics."""
    base = [sys.executable, "-m", "ingestion.server", *to_args(config, token_file)]
    procs = [
        subprocess.Popen([*base, "--workers", "1", "--worker-index", str(i)])
        for i in range(config.workers)
    ]
    print(startup_line(config, config.url), flush=True)

    def forward(sig: int, _frame: object) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(sig)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [p.wait() for p in procs]
    return 0 if all(c == 0 for c in codes) else 1
