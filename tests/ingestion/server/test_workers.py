"""`respawn serve --workers N` supervises its workers: a worker that dies is replaced at once and
its in-flight shards are published, /healthz says 503 while a worker is missing, and SIGTERM at
any moment (even before a worker has set up its signal handling) drains and exits 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from ingestion import settings
from ingestion.landing.layout import inflight_shards, parse_shard_name
from tests.ingestion.helpers import batch, event, landed, open_client
from tests.support.ingestor import free_port, running_ingestor

REPO = Path(__file__).resolve().parents[3]


def workers_of(pid: int) -> list[int]:
    return sorted(p.pid for p in psutil.Process(pid).children() if p.is_running())


def in_flight_of(landing_root: Path, pid: int) -> list[Path]:
    return [
        p for p in inflight_shards(landing_root) if (n := parse_shard_name(p.name)) and n.pid == pid
    ]


def test_a_worker_killed_with_kill_9_is_replaced_and_its_shards_published_at_once(
    data_dir: Path,
) -> None:
    with running_ingestor(data_dir, extra_args=["--workers", "2"]) as server:
        acked: list[str] = []
        for _ in range(6):  # connections spread over both workers by the kernel
            c = open_client(server.url)
            frame = batch([event() for _ in range(20)])
            assert c.call(frame)["accepted"] == 20
            acked += [e["event_id"] for e in frame["events"]]
            c.close()
        workers = workers_of(server.pid)
        assert len(workers) == 2
        victim = next(w for w in workers if in_flight_of(server.landing_root, w))
        psutil.Process(victim).kill()
        statuses: list[int] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                statuses.append(server.healthz())
            except OSError:
                statuses.append(0)
            alive = workers_of(server.pid)
            if len(alive) == 2 and victim not in alive and statuses[-1] == 200:
                break
            time.sleep(0.005)
        assert victim not in workers_of(server.pid) and len(workers_of(server.pid)) == 2
        assert 503 in statuses, "/healthz never said that a worker was missing"
        assert in_flight_of(server.landing_root, victim) == []  # published without a restart
        # Nothing acknowledged is lost: published, or in flight with the surviving worker.
        assert set(acked) <= set(landed(server.landing_root))
        c = open_client(server.url)
        assert c.call(event())["accepted"] == 1
        c.close()
        assert server.stop() == 0
    assert inflight_shards(server.landing_root) == []
    assert set(acked) <= set(landed(server.landing_root, inflight=False))


def test_sigterm_at_any_moment_of_start_up_exits_0(tmp_path: Path) -> None:
    for delay in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4):
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "ingestion.server", "--workers", "2", "--port", str(port),
             "--data-dir", str(tmp_path)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("respawn serve: listening")
        time.sleep(delay)  # the workers are starting: some have no signal handler yet
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, f"after {delay}s: exit {proc.returncode}\n{err[-3000:]}"
    assert inflight_shards(settings.landing_root(tmp_path)) == []
