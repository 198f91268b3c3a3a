"""Events, frames, landed lines and a blocking WebSocket client for the ingestion tests."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from websockets.sync.client import ClientConnection, connect

from ingestion.landing.layout import INFLIGHT_SUFFIX, Stream, published_shards
from ingestion.landing.lines import event_line

TYPE_FIELDS: dict[str, dict[str, Any]] = {
    "session_start": {"is_new_user": False, "entry_point": "lobby"},
    "match_played": {
        "match_duration_sec": 312,
        "result": "win",
        "opponent_type": "human",
    },
    "disconnect": {"disconnect_reason": "network", "time_since_session_start_sec": 185},
}


def new_id() -> str:
    return str(uuid.uuid4())


def event(name: str = "match_played", **fields: Any) -> dict[str, Any]:
    """A valid v1 event with fresh ids; `fields` override or add fields."""
    e: dict[str, Any] = {
        "event_name": name,
        "event_version": "v1",
        "event_id": new_id(),
        "user_id": new_id(),
        "session_id": new_id(),
        "timestamp": "2026-01-30T18:12:45Z",
        "client_version": "1.0.0",
        "platform": "web",
        **TYPE_FIELDS.get(name, {}),
    }
    if name == "match_played":
        e["match_id"] = new_id()
    e.update(fields)
    return e


def without(e: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in e.items() if k != name}


def batch(
    events: list[Any], batch_id: str | None = "b-1", sent_at: str | None = "2026-01-30T18:12:46Z"
) -> dict[str, Any]:
    return {"batch_id": batch_id, "sent_at": sent_at, "events": events}


NOON = datetime(2026, 1, 30, 12, 15, tzinfo=UTC)


def landed_line(seq: int) -> bytes:
    """A landed line of a valid event marked `seq`, received at about NOON."""
    return event_line(event(seq=seq), "2026-01-30T12:15:00.000000Z", "c-1", "valid")


def dead_pid() -> int:
    """The pid of a process that has exited (as a crashed ingestor's, in its shard names)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


class Client:
    """A real websockets client that sends frames and reads the replies in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    def send(self, frame: Any) -> None:
        self.ws.send(frame if isinstance(frame, str | bytes) else dumps(frame))

    def reply(self, timeout: float = 10.0) -> dict[str, Any]:
        return orjson.loads(self.ws.recv(timeout=timeout))

    def call(self, frame: Any) -> dict[str, Any]:
        self.send(frame)
        return self.reply()

    def pipeline(self, frames: Iterable[Any]) -> list[dict[str, Any]]:
        """Send every frame without waiting, then read one reply per frame."""
        frames = list(frames)
        for f in frames:
            self.send(f)
        return [self.reply() for _ in frames]

    def close(self) -> None:
        self.ws.close()


def open_client(url: str, **kwargs: Any) -> Client:
    kwargs.setdefault("open_timeout", 10)
    kwargs.setdefault("max_size", 2**22)
    kwargs.setdefault("legacy", True)  # a plain connection object; closed by Client.close
    return Client(connect(url, **kwargs))


def shard_lines(landing_root: Path, stream: Stream, *, inflight: bool = True) -> list[dict]:
    """Every line of a stream: published shards, and in-flight ones unless told otherwise
    (acknowledged lines are durable there before their shard is published)."""
    paths = published_shards(landing_root, stream)
    if inflight:
        paths += sorted((landing_root / stream).glob(f"dt=*/hour=*/.*{INFLIGHT_SUFFIX}"))
    lines = []
    for path in paths:
        with path.open("rb") as f:
            lines += [orjson.loads(line) for line in f if line.endswith(b"\n")]
    return lines


def landed(landing_root: Path, *, inflight: bool = True) -> dict[str, dict]:
    """Landed lines by event_id."""
    return {
        line["event"].get("event_id"): line
        for line in shard_lines(landing_root, Stream.EVENTS, inflight=inflight)
    }


def deadlettered(landing_root: Path, *, inflight: bool = True) -> list[dict]:
    return shard_lines(landing_root, Stream.DEADLETTER, inflight=inflight)


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def metric(text: str, name: str) -> float:
    """The value of one sample (`name` with its labels, exactly as rendered); 0 when absent."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
