"""The production shape: haproxy in front of three `respawn serve` processes on one landing. One
of them is killed with `kill -9` mid-run and started again; the clients reconnect through haproxy
and resend what was not acknowledged; no acknowledged event is lost.

The haproxy configuration is read from docs/data-engineers.md ("Behind a load balancer")."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ingestion.landing.layout import inflight_shards, parse_shard_name
from tests.ingestion.helpers import batch, event, landed, wait_for
from tests.ingestion.server.test_lifecycle import assert_no_torn_line
from tests.support.ingestor import Ingestor, free_port, http_get

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
pytestmark = pytest.mark.skipif(
    not Path(HAPROXY).exists(), reason="haproxy is not installed (.ci/run installs it)"
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "data-engineers.md"


def documented_config(port: int, backends: list[int]) -> str:
    """The haproxy configuration of docs/data-engineers.md, on this test's ports."""
    text = DOCS.read_text()
    block = text.split("```haproxy\n", 1)[1].split("```", 1)[0]
    lines = [
        line for line in block.splitlines() if not line.strip().startswith("server ")
    ]  # the documented backends: replaced by this test's
    config = "\n".join(lines).replace("bind 127.0.0.1:8080", f"bind 127.0.0.1:{port}")
    assert f"bind 127.0.0.1:{port}" in config
    servers = [f"    server s{i} 127.0.0.1:{b}" for i, b in enumerate(backends)]
    return config.rstrip() + "\n" + "\n".join(servers) + "\n"


SECONDS, KILL_AT, RESTART_AT = 8.0, 2.5, 4.0
CLIENTS, WINDOW, EVENTS_PER_FRAME = 6, 4, 10


@dataclass
class NamedIngestor(Ingestor):
    """One of several ingestors sharing a data directory: each has its own log files."""

    name: str = "serve"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "logs" / f"{self.name}-{self.starts}.log"


@contextlib.contextmanager
def haproxy(tmp_path: Path, backends: list[Ingestor]) -> Iterator[int]:
    port = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(documented_config(port, [b.port for b in backends]))
    log = (tmp_path / "haproxy.log").open("wb")
    proc = subprocess.Popen([HAPROXY, "-f", str(config), "-db"], stdout=log, stderr=log)
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), what="haproxy to serve")
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _answers(url: str) -> bool:
    with contextlib.suppress(OSError):
        return http_get(url)[0] == 200
    return False


@dataclass
class Tally:
    acked: set[str]
    reconnects: int = 0


async def client(url: str, stop_at: float, tally: Tally) -> None:
    """Send batches, `WINDOW` unacknowledged at most; on any break, reconnect (through haproxy)
    and resend what was not acknowledged, as the browser library and the simulator do."""
    unacked: list[dict] = []
    while time.monotonic() < stop_at:
        try:
            async with connect(url, open_timeout=5, max_size=2**22) as ws:
                for frame in unacked:  # resend, in order
                    await ws.send(orjson.dumps(frame).decode())
                while time.monotonic() < stop_at:
                    while len(unacked) < WINDOW:
                        frame = batch([event() for _ in range(EVENTS_PER_FRAME)])
                        unacked.append(frame)
                        await ws.send(orjson.dumps(frame).decode())
                    reply = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
                    frame = unacked.pop(0)
                    assert reply["type"] == "ack" and reply["accepted"] == EVENTS_PER_FRAME
                    tally.acked.update(e["event_id"] for e in frame["events"])
                while unacked:  # the last acks
                    reply = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
                    frame = unacked.pop(0)
                    tally.acked.update(e["event_id"] for e in frame["events"])
                return
        except (ConnectionClosed, InvalidStatus, OSError, TimeoutError):
            tally.reconnects += 1
            await asyncio.sleep(0.05)


def test_three_ingestors_behind_haproxy_lose_no_acknowledged_event_when_one_is_killed(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    servers = [NamedIngestor(data_dir=home, port=free_port(), name=f"serve{i}") for i in range(3)]
    try:
        for s in servers:
            s.start()
        with haproxy(tmp_path, servers) as port:
            tally = Tally(set())
            victim = servers[1]

            async def main() -> int:
                start = time.monotonic()
                clients = [
                    asyncio.create_task(client(f"ws://127.0.0.1:{port}/", start + SECONDS, tally))
                    for _ in range(CLIENTS)
                ]
                await asyncio.sleep(KILL_AT)
                dead = victim.pid
                victim.kill()
                await asyncio.sleep(RESTART_AT - KILL_AT)
                await asyncio.to_thread(victim.start)  # publishes what the dead one left
                await asyncio.gather(*clients)
                return dead

            dead = asyncio.run(main())
        for s in servers:
            assert s.stop() == 0, s.logs()[-2000:]
    finally:
        for s in servers:
            s.stop()
    root = servers[0].landing_root
    published = landed(root, inflight=False)
    assert inflight_shards(root) == []
    assert len(tally.acked) > 1000 and tally.reconnects > 0
    lost = tally.acked - set(published)
    assert not lost, f"{len(lost)} acknowledged events lost"
    writers = {parse_shard_name(p.name).pid for p in root.rglob("*.jsonl")}  # type: ignore[union-attr]
    assert dead in writers, "the killed server had landed events before it died"
    assert "recovered in-flight shards" in victim.logs()
    assert_no_torn_line(root)
