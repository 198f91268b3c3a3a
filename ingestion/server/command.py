"""`respawn serve` (also `python -m ingestion.server`): run the ingestor until SIGTERM or SIGINT,
then drain and exit 0 (with `--workers N`, supervise N of them: `ingestion.server.workers`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from typing import Any

from ingestion import usage
from ingestion.server import logs
from ingestion.server.config import (
    ConfigError,
    ServerConfig,
    add_arguments,
    ensure_file_descriptors,
    from_args,
)
from ingestion.server.workers import STOP_SIGNALS, WorkerTable, supervise

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
    parser.add_argument("--worker-table-fd", type=int, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


_early_stop: list[int] = []  # a stop signal that came before the server's own handlers


def _note_stop(sig: int, _frame: object) -> None:
    _early_stop.append(sig)


def run(args: argparse.Namespace) -> int:
    if args.worker_index is None:
        for sig in STOP_SIGNALS:  # from here on, a stop signal always means "drain, exit 0"
            signal.signal(sig, _note_stop)
    try:
        config = from_args(args)
        ensure_file_descriptors(config)
    except ConfigError as e:
        return usage.refuse("serve", e)
    logs.configure(config.log_level)
    if args.worker_index is None and config.workers > 1:
        if _early_stop:
            return 0
        return supervise(config, args.token_file, startup_line(config, config.url))
    table = None
    if args.worker_table_fd is not None:
        table = WorkerTable.shared(args.worker_table_fd)
    try:
        return asyncio.run(serve(config, worker_index=args.worker_index, table=table))
    except OSError as e:  # e.g. the port is taken
        log.error("cannot start", extra={"fields": {"error": str(e)}})
        print(f"respawn serve: cannot start: {e}", file=sys.stderr)
        return 1


async def serve(
    config: ServerConfig, worker_index: int | None = None, table: WorkerTable | None = None
) -> int:
    from ingestion.server.app import IngestServer  # websockets is only needed from here on

    # The commit thread needs the GIL back after each fsync to release the acks; by default the
    # event loop would keep it up to 5 ms longer, which then adds to every ack's latency.
    sys.setswitchinterval(0.001)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    # A worker starts with them blocked (see workers.py); one that came meanwhile arrives now.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    if _early_stop:
        stop.set()
    server = IngestServer(config, workers=table)
    await server.start(reuse_port=worker_index is not None)
    if table is not None and worker_index is not None:
        table.mark(worker_index, True)
    url = f"ws://{config.host}:{server.port}/"
    log.info(
        "listening",
        extra={
            "fields": {
                "url": url,
                "data_dir": str(config.data_dir),
                "landing": config.landing_location,
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
    if table is not None and worker_index is not None:
        table.mark(worker_index, False)
    started = time.monotonic()
    await server.shutdown()
    log.info("stopped", extra={"fields": {"seconds": round(time.monotonic() - started, 3)}})
    return 0


def startup_line(config: ServerConfig, url: str) -> str:
    auth = "token required" if config.token else "no auth"
    workers = f", {config.workers} workers" if config.workers > 1 else ""
    shards = (
        f"shards in landing/, published to {config.landing_url}"
        if config.landing_url
        else ("shards in landing/")
    )
    return (
        f"respawn serve: listening on {url} | data dir {config.data_dir} ({shards}) | "
        f"durability {config.durability} | {auth}{workers} | Ctrl-C to stop"
    )
