"""`respawn serve --workers N`: N server processes on one port (SO_REUSEPORT; the kernel spreads
the connections), and the supervisor that keeps them running.

Each worker has its own shards (its pid is in their names) and its own /metrics. A worker that
dies is replaced at once, and the supervisor publishes what it left in flight before the
replacement starts (acknowledged lines are never left for the next restart). While a worker is
missing, every worker's /healthz says 503, so a load balancer sends traffic elsewhere; a worker
that keeps dying stops the whole service with exit 1, for systemd or Kubernetes to act on.

SIGTERM (or SIGINT) drains every worker and exits 0, whenever it comes: the workers start with
those signals blocked and unblock them once their handlers are in place, so a signal that comes
early waits for them instead of killing the process.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

from ingestion.landing.recovery import recover_inflight
from ingestion.landing.store import open_store
from ingestion.server.config import ServerConfig, to_args

log = logging.getLogger("respawn.serve.workers")

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
RESTARTS_ALLOWED, RESTART_WINDOW_SECONDS = 5, 60.0  # a worker dying faster stops the service


class WorkerTable:
    """One byte per worker in a memory file the supervisor shares with its workers: 1 while that
    worker serves, 0 while it is down or starting."""

    def __init__(self, fd: int, workers: int) -> None:
        self.fd, self.workers = fd, workers

    @classmethod
    def create(cls, workers: int) -> WorkerTable:
        fd = os.memfd_create("respawn-workers", 0)  # inheritable only where passed (pass_fds)
        os.ftruncate(fd, workers)
        return cls(fd, workers)

    @classmethod
    def shared(cls, fd: int) -> WorkerTable:
        """The table a worker was passed by its supervisor."""
        return cls(fd, os.fstat(fd).st_size)

    def mark(self, index: int, up: bool) -> None:
        os.pwrite(self.fd, b"\1" if up else b"\0", index)

    def problem(self) -> str | None:
        down = [i for i, b in enumerate(os.pread(self.fd, self.workers, 0)) if not b]
        if not down:
            return None
        return f"worker(s) {', '.join(map(str, down))} of {self.workers} down or (re)starting"


def block_stop_signals() -> None:
    """In a new worker, before it runs Python: SIGTERM and SIGINT wait for its handlers."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def supervise(config: ServerConfig, token_file: Path | None, startup_line: str) -> int:
    stopping: list[int] = []
    procs: dict[int, subprocess.Popen[bytes]] = {}

    def forward(sig: int, _frame: object) -> None:
        stopping.append(sig)
        for p in procs.values():
            if p.returncode is None:  # (not poll(): that could reap it behind waitpid's back)
                p.send_signal(sig)

    for sig in STOP_SIGNALS:
        signal.signal(sig, forward)
    table = WorkerTable.create(config.workers)
    base = [sys.executable, "-m", "ingestion.server", *to_args(config, token_file)]

    def spawn(index: int) -> None:
        worker = ["--workers", "1", "--worker-index", str(index)]
        procs[index] = subprocess.Popen(
            [*base, *worker, "--worker-table-fd", str(table.fd)],
            pass_fds=(table.fd,),
            preexec_fn=block_stop_signals,
        )
        if stopping:  # the signal came while this one was being started
            procs[index].send_signal(stopping[0])

    for i in range(config.workers):
        spawn(i)
    print(startup_line, flush=True)
    deaths: dict[int, deque[float]] = {i: deque() for i in range(config.workers)}
    codes: dict[int, int] = {}
    while len(codes) < len(procs) or not stopping:
        pid, status = os.waitpid(-1, 0)
        index = next((i for i, p in procs.items() if p.pid == pid), None)
        if index is None:
            continue
        procs[index].returncode = code = os.waitstatus_to_exitcode(status)
        table.mark(index, False)
        if stopping:
            codes[index] = code
            continue
        log.error(
            "a worker died; publishing its shards and starting another",
            extra={"fields": {"worker": index, "pid": pid, "exit": code}},
        )
        publish_left_in_flight(config, pid)
        recent = deaths[index]
        recent.append(time.monotonic())
        while recent and recent[0] < time.monotonic() - RESTART_WINDOW_SECONDS:
            recent.popleft()
        if len(recent) > RESTARTS_ALLOWED:
            log.error(
                "a worker keeps dying: stopping the service",
                extra={"fields": {"worker": index, "deaths": len(recent)}},
            )
            print(
                f"respawn serve: worker {index} died {len(recent)} times within "
                f"{RESTART_WINDOW_SECONDS:g}s (last exit {code}); stopping: see the logs above",
                file=sys.stderr,
            )
            forward(signal.SIGTERM, None)
            codes[index] = code
            continue
        spawn(index)
    return 0 if all(c == 0 for c in codes.values()) and len(codes) == len(procs) else 1


def publish_left_in_flight(config: ServerConfig, pid: int) -> None:
    """Publish the in-flight shards of a worker that just died (what it acknowledged is in them;
    a torn last line is dead-lettered). On failure (a full disk), the next worker's own start-up
    recovery retries."""
    try:
        report = recover_inflight(
            config.landing_root, pid=pid, store=open_store(config.landing_location)
        )
    except OSError as e:
        log.error(
            "cannot publish a dead worker's shards yet; its replacement will retry",
            extra={"fields": {"pid": pid, "error": str(e)}},
        )
        return
    log.warning(
        "published a dead worker's in-flight shards",
        extra={
            "fields": {
                "pid": pid,
                "published": [str(p) for p in report.published],
                "torn_lines": report.torn_lines,
            }
        },
    )
