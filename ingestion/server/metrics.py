"""Counters of one server process, rendered as Prometheus text (exposition format 0.0.4)."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable
from typing import Protocol


class Budget(Protocol):
    held: int
    limit: int
    paused_total: int


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Histogram:
    __slots__ = ("buckets", "count", "counts", "sum")

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # the last one is +Inf
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.count += 1
        self.sum += value

    def render(self, name: str) -> list[str]:
        lines, cumulative = [], 0
        for bound, n in zip((*self.buckets, float("inf")), self.counts, strict=True):
            cumulative += n
            le = "+Inf" if bound == float("inf") else repr(bound)
            lines.append(f'{name}_bucket{{le="{le}"}} {cumulative}')
        lines += [f"{name}_sum {self.sum}", f"{name}_count {self.count}"]
        return lines


class Metrics:
    """Plain attributes bumped by the event loop thread only, so no locks."""

    def __init__(self) -> None:
        self.events_accepted: Counter[str] = Counter()  # by status: valid, unknown
        self.events_refused: Counter[str] = Counter()  # by code
        self.frames: Counter[str] = Counter()  # by kind: event, batch, refused
        self.frames_refused: Counter[str] = Counter()  # by code
        self.bytes_received = 0
        self.shards_published: Counter[str] = Counter()  # by stream
        self.connections_open = 0
        self.connections_total = 0
        self.connections_refused: Counter[str] = Counter()  # by HTTP status
        self.connections_closed: Counter[str] = Counter()  # by the server, by reason
        self.budget: Budget | None = None  # the buffer budget, read when rendering
        self.awaiting_publish: Callable[[], int] = lambda: 0  # finished shards not yet PUT
        self.commits = 0
        self.ack_latency = Histogram()
        self.commit_latency = Histogram()

    def render(self) -> str:
        out: list[str] = []

        def family(name: str, kind: str, help_text: str) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")

        def labelled(name: str, label: str, values: Counter[str], always: tuple[str, ...]) -> None:
            for key in sorted(set(always) | set(values)):
                out.append(f'{name}{{{label}="{key}"}} {values[key]}')

        family("respawn_events_accepted_total", "counter", "Events landed, by status.")
        labelled(
            "respawn_events_accepted_total", "status", self.events_accepted, ("valid", "unknown")
        )
        family("respawn_events_refused_total", "counter", "Events dead-lettered, by code.")
        labelled("respawn_events_refused_total", "code", self.events_refused, ())
        family("respawn_frames_total", "counter", "Frames received, by kind.")
        labelled("respawn_frames_total", "kind", self.frames, ("event", "batch", "refused"))
        family("respawn_frames_refused_total", "counter", "Frames refused as a whole, by code.")
        labelled("respawn_frames_refused_total", "code", self.frames_refused, ())
        family("respawn_received_bytes_total", "counter", "Bytes of frames received.")
        out.append(f"respawn_received_bytes_total {self.bytes_received}")
        family("respawn_shards_published_total", "counter", "Shards published, by stream.")
        labelled(
            "respawn_shards_published_total",
            "stream",
            self.shards_published,
            ("events", "deadletter"),
        )
        family(
            "respawn_shards_awaiting_publish",
            "gauge",
            "Finished shards waiting in flight for their PUT to object storage.",
        )
        out.append(f"respawn_shards_awaiting_publish {self.awaiting_publish()}")
        family("respawn_connections_open", "gauge", "WebSocket connections open now.")
        out.append(f"respawn_connections_open {self.connections_open}")
        family("respawn_connections_total", "counter", "WebSocket connections accepted.")
        out.append(f"respawn_connections_total {self.connections_total}")
        family("respawn_connections_refused_total", "counter", "Handshakes refused, by status.")
        labelled("respawn_connections_refused_total", "status", self.connections_refused, ())
        family(
            "respawn_connections_closed_total",
            "counter",
            "Connections closed by the server for a policy violation, by reason.",
        )
        labelled(
            "respawn_connections_closed_total",
            "reason",
            self.connections_closed,
            ("deadletter_budget", "ping_flood", "unread_output"),
        )
        if self.budget is not None:
            family("respawn_buffered_bytes", "gauge", "Bytes of frames read, not yet answered.")
            out.append(f"respawn_buffered_bytes {self.budget.held}")
            family("respawn_buffered_bytes_limit", "gauge", "--max-buffered-bytes.")
            out.append(f"respawn_buffered_bytes_limit {self.budget.limit}")
            family(
                "respawn_reading_paused_total",
                "counter",
                "Times a connection's reading was paused by the buffer budget.",
            )
            out.append(f"respawn_reading_paused_total {self.budget.paused_total}")
        family("respawn_commits_total", "counter", "Group commits (one fsync per stream each).")
        out.append(f"respawn_commits_total {self.commits}")
        family("respawn_ack_latency_seconds", "histogram", "Frame received to reply sent.")
        out += self.ack_latency.render("respawn_ack_latency_seconds")
        family("respawn_commit_seconds", "histogram", "Duration of one group commit.")
        out += self.commit_latency.render("respawn_commit_seconds")
        return "\n".join(out) + "\n"

    def on_commit(self, _chunks: int, seconds: float) -> None:
        self.commits += 1
        self.commit_latency.observe(seconds)
