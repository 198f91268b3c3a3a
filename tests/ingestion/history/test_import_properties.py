"""Exactly once, whatever the chunking or the interruption: every valid line of a history lands
exactly once, every refused line is dead-lettered exactly once, byte for byte; and memory holds
a chunk, not the file."""

from __future__ import annotations

import tempfile
import tracemalloc
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.history.importer import import_file
from ingestion.landing.lines import format_ts
from tests.ingestion.history.histories import (
    deadlettered_raws,
    landed_lines,
    match,
    write_history,
)

T0 = datetime(2025, 2, 1, tzinfo=UTC)


class Interrupted(Exception):
    pass


@st.composite
def valid_lines(draw: st.DrawFn) -> dict:
    """A valid event within a few hours (few partitions: each shard costs fsyncs), sometimes
    with the studio server's received_at, sometimes a duplicate id (both copies land)."""
    when = T0 + timedelta(seconds=draw(st.integers(0, 4 * 3600)))
    ev = match(when, event_id=str(uuid.UUID(int=draw(st.integers(0, 2**20)), version=4)))
    if draw(st.booleans()):
        ev["received_at"] = format_ts(when + timedelta(seconds=draw(st.integers(0, 7200))))
    return ev


invalid_lines = st.one_of(
    st.sampled_from([b"{", b"null", b"[]", b'{"event_name": "match_played"}', b"\xc3\x28"]),
    st.builds(lambda e: orjson.dumps({**e, "match_duration_sec": -1}), valid_lines()),
    st.builds(lambda e: orjson.dumps({**e, "received_at": 17}), valid_lines()),
)
lines = st.lists(
    st.one_of(valid_lines().map(lambda e: ("valid", e)), invalid_lines.map(lambda b: ("bad", b))),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(items=lines, chunk_lines=st.integers(1, 45), stop_after=st.none() | st.integers(1, 6))
def test_every_valid_line_lands_exactly_once_whatever_the_chunking(
    items: list[tuple[str, dict | bytes]], chunk_lines: int, stop_after: int | None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        history = write_history(Path(tmp) / "h.jsonl", [item for _, item in items])
        landing = Path(tmp) / "landing"
        calls = 0

        def maybe_stop(_: int) -> None:
            nonlocal calls
            calls += 1
            if calls == stop_after:
                raise Interrupted

        try:
            import_file(history, landing, chunk_lines=chunk_lines, on_progress=maybe_stop)
        except Interrupted:
            import_file(history, landing)  # the run after the interruption finishes it
        again = import_file(history, landing, chunk_lines=chunk_lines + 1)

        expected = Counter(item["event_id"] for kind, item in items if kind == "valid")
        landed = Counter(ln["event"]["event_id"] for ln in landed_lines(landing))
        assert landed == expected
        bad = Counter(item for kind, item in items if kind == "bad")
        assert Counter(deadlettered_raws(landing)) == bad
        assert again.already_imported


@pytest.mark.parametrize("events", [40_000])
def test_memory_holds_a_chunk_not_the_file(tmp_path: Path, events: int) -> None:
    """A history of ~16 MB imported in chunks of 1,000 lines peaks far below the file's size."""
    template = match(T0)
    history = tmp_path / "big.jsonl"
    with history.open("wb") as f:
        for i in range(events):
            when = T0 + timedelta(seconds=61 * i)  # ~1,000 hours: ~1,000 shards
            ev = {
                **template,
                "event_id": str(uuid.UUID(int=i, version=4)),
                "timestamp": format_ts(when),
            }
            f.write(orjson.dumps(ev) + b"\n")
    size = history.stat().st_size
    landing = tmp_path / "landing"

    tracemalloc.start()
    try:
        result = import_file(history, landing, chunk_lines=1_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.valid == events
    assert size > 15 * 1024 * 1024
    assert peak < 5 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB file"
