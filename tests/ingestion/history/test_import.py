"""`respawn import`: a history's lines validated by the contract and landed as published shards at
the receive time the events imply, refused lines dead-lettered byte-exact with their codes,
exactly once whatever the chunking, a re-import or an interruption."""

from __future__ import annotations

import gzip
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from ingestion.contract import MAX_EVENT_BYTES
from ingestion.history import manifest
from ingestion.history.importer import import_connection_id, import_file
from ingestion.history.source import digest
from ingestion.landing.layout import Stream, parse_shard_name, shard_day
from ingestion.landing.lines import format_ts, raw_bytes
from tests.ingestion.history.histories import (
    deadletter_lines,
    landed_lines,
    match,
    shard_files,
    write_history,
)

T0 = datetime(2024, 3, 5, 9, 30, 15, 250000, tzinfo=UTC)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


class Interrupted(Exception):
    """Raised from the progress callback: the import stops as a killed process would."""


def test_each_event_lands_at_the_time_it_implies_with_its_provenance(
    tmp_path: Path, landing: Path
) -> None:
    own_time = match(T0)
    stamped = {**match(T0 + timedelta(days=40)), "received_at": "2024-04-14T11:00:02+02:00"}
    history = write_history(tmp_path / "history.jsonl", [own_time, stamped])

    result = import_file(history, landing)

    lines = {ln["event"]["event_id"]: ln for ln in landed_lines(landing)}
    assert result.valid == 2 and result.deadlettered == 0
    # no received_at: the event's own timestamp, so dbt's corrected time is the event's time
    first = lines[own_time["event_id"]]
    assert first["received_at"] == format_ts(T0) == "2024-03-05T09:30:15.250000Z"
    assert first["sent_at"] is None and first["batch_id"] is None
    assert first["event"] == own_time  # nested exactly as in the file
    # received_at given: that time, taken out of the event
    second = lines[stamped["event_id"]]
    assert second["received_at"] == "2024-04-14T09:00:02.000000Z"
    assert "received_at" not in second["event"]
    assert second["event"] == {k: v for k, v in stamped.items() if k != "received_at"}
    # provenance: every line says which content it came from; so does each shard's name
    sha = digest(history).sha256
    assert {ln["connection_id"] for ln in lines.values()} == {import_connection_id(sha)}
    shards = shard_files(landing)
    assert [p.parent.as_posix().split("/events/")[1] for p in shards] == [
        "dt=2024-03-05/hour=09",
        "dt=2024-04-14/hour=09",
    ]
    assert {parse_shard_name(p.name).node for p in shards} == {f"import_{sha[:16]}"}  # type: ignore[union-attr]
    # the manifest: which file, its digests, what it held
    (record,) = manifest.records(landing)
    assert record["status"] == "done"
    assert record["path"] == str(history.resolve())
    assert record["sha256"] == record["file_sha256"] == sha  # plain: content is the file
    assert record["counts"]["valid"] == 2 and record["counts"]["lines"] == 2


REFUSED = [
    # (line, code, field)
    (b"this is not JSON", "invalid_json", None),
    (b"\xff\xfe binary \x00", "invalid_json", None),
    (b'["an", "array"]', "not_an_object", None),
    (b'{"event_name": "match_played"}', "missing_field", "event_version"),
]


def _refused_lines() -> list[tuple[bytes, str, str | None]]:
    bad_uuid = {**match(T0), "user_id": "not-a-uuid"}
    bad_enum = {**match(T0), "result": "draw"}
    bad_received = {**match(T0), "received_at": "yesterday"}
    future = {**match(T0), "received_at": "2999-01-01T00:00:00Z"}
    ancient = {**match(T0), "timestamp": "1969-12-31T23:59:59Z"}
    huge = {**match(T0), "padding": "x" * MAX_EVENT_BYTES}
    spaced = b'  { "event_name" : "disconnect" , "event_version": "v1" }  '
    return [
        *REFUSED,
        (orjson.dumps(bad_uuid), "invalid_uuid", "user_id"),
        (orjson.dumps(bad_enum), "invalid_value", "result"),
        (orjson.dumps(bad_received), "invalid_timestamp", "received_at"),
        (orjson.dumps(future), "out_of_range", "received_at"),
        (orjson.dumps(ancient), "out_of_range", "timestamp"),
        (orjson.dumps(huge), "event_too_large", None),
        (spaced, "missing_field", "event_id"),
    ]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzipped"])
def test_refused_lines_go_to_deadletter_byte_exact_with_their_codes(
    tmp_path: Path, landing: Path, gz: bool
) -> None:
    refused = _refused_lines()
    good = [match(T0 + timedelta(minutes=i)) for i in range(3)]
    items: list[dict | bytes] = [good[0], *[raw for raw, _, _ in refused], b"", good[1]]
    items.append(orjson.dumps(good[2]) + b"\r")  # a CRLF line: the terminator is not content
    history = write_history(tmp_path / ("h.jsonl.gz" if gz else "h.jsonl"), items, gz=gz)

    result = import_file(history, landing)

    assert result.valid == 3 and result.blank == 1
    assert result.refused == Counter(code for _, code, _ in refused)
    by_index = {ln["index"]: ln for ln in deadletter_lines(landing)}
    assert sorted(by_index) == list(range(1, 1 + len(refused)))  # their lines in the file, 0-based
    for i, (raw, code, field) in enumerate(refused, start=1):
        ln = by_index[i]
        assert raw_bytes(ln) == raw, f"line {i + 1} is not kept exactly"
        assert ln["raw_bytes"] == len(raw)
        assert (ln["failure"]["code"], ln["failure"]["field"]) == (code, field)
        assert ln["failure"]["message"].startswith(f"line {i + 1}: ")
        assert ln["connection_id"] == import_connection_id(result.source.sha256)
    # a refused line that says its time is kept beside its day; one that says none, at the import
    assert by_index[5]["received_at"] == format_ts(T0)  # the bad UUID line's own timestamp
    imported_at = manifest.records(landing)[0]["started_at"]
    assert by_index[1]["received_at"] == imported_at
    assert sorted(ln["event"]["event_id"] for ln in landed_lines(landing)) == sorted(
        e["event_id"] for e in good
    )


def test_a_clock_ahead_of_the_import_is_received_by_the_import_at_the_latest(
    tmp_path: Path, landing: Path
) -> None:
    ahead = match(datetime.now(UTC) + timedelta(days=3))
    result = import_file(write_history(tmp_path / "h.jsonl", [ahead]), landing)
    (ln,) = landed_lines(landing)
    assert result.valid == 1
    assert ln["received_at"] == manifest.records(landing)[0]["started_at"]
    assert ln["event"] == ahead  # dbt shifts a session whose clock runs ahead


def test_numbers_land_as_written(tmp_path: Path, landing: Path) -> None:
    """orjson reads 0.10000000000000001 as 0.1: an event with such numbers is read again exactly,
    as the ingestor does."""
    extra = (
        orjson.dumps(match(T0))[:-1]
        + b',"score":0.10000000000000001,"big":123456789012345678901234567890}'
    )
    import_file(write_history(tmp_path / "h.jsonl", [extra]), landing)
    (shard,) = shard_files(landing)
    text = shard.read_bytes()
    assert b'"score":0.10000000000000001' in text
    assert b'"big":123456789012345678901234567890' in text


def test_importing_the_same_history_again_lands_nothing(tmp_path: Path, landing: Path) -> None:
    events = [match(T0 + timedelta(hours=5 * i)) for i in range(40)]
    plain = write_history(tmp_path / "h.jsonl", events)
    first = import_file(plain, landing, chunk_lines=7)
    before = {p: p.stat().st_mtime_ns for p in shard_files(landing)}

    again = import_file(plain, landing, chunk_lines=3)
    gzipped = tmp_path / "copy.jsonl.gz"
    gzipped.write_bytes(gzip.compress(plain.read_bytes()))
    same_content = import_file(gzipped, landing)

    assert first.valid == 40 and not first.already_imported
    for result in (again, same_content):
        assert result.already_imported
        assert result.imported_from == str(plain.resolve())
        assert result.valid == 40  # what the first import landed
    assert {p: p.stat().st_mtime_ns for p in shard_files(landing)} == before
    assert len(landed_lines(landing)) == 40
    assert len(manifest.records(landing)) == 1


def test_an_interrupted_import_lands_the_rest_exactly_once(tmp_path: Path, landing: Path) -> None:
    events = [match(T0 + timedelta(minutes=37 * i)) for i in range(60)]
    history = write_history(tmp_path / "h.jsonl", [*events, "garbage"])
    chunks_done = 0

    def stop_after_two(_: int) -> None:
        nonlocal chunks_done
        chunks_done += 1
        if chunks_done == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        import_file(history, landing, chunk_lines=20, on_progress=stop_after_two)
    assert manifest.records(landing)[0]["status"] == "importing"
    assert 0 < len(landed_lines(landing)) < 60

    resumed = import_file(history, landing, chunk_lines=5)  # the recorded chunking wins

    assert resumed.resumed and resumed.shards_kept > 0
    assert resumed.valid == 60 and resumed.refused == Counter(invalid_json=1)
    ids = Counter(ln["event"]["event_id"] for ln in landed_lines(landing))
    assert ids == Counter(e["event_id"] for e in events)
    assert len(deadletter_lines(landing)) == 1
    assert manifest.records(landing)[0]["status"] == "done"


def test_shards_fall_in_the_partitions_of_their_lines(tmp_path: Path, landing: Path) -> None:
    events = [match(T0 + timedelta(hours=11 * i)) for i in range(30)]
    import_file(write_history(tmp_path / "h.jsonl", events[::-1]), landing, chunk_lines=4)
    for shard in shard_files(landing):
        for raw in shard.read_bytes().splitlines():
            received = datetime.fromisoformat(orjson.loads(raw)["received_at"])
            assert received.date() == shard_day(shard)
            assert f"hour={received:%H}" == shard.parent.name
    assert Stream.EVENTS in {Stream(p.relative_to(landing).parts[0]) for p in shard_files(landing)}


def test_user_and_event_ids_are_kept_as_given(tmp_path: Path, landing: Path) -> None:
    upper = match(T0, user_id=str(uuid.uuid4()).upper())
    import_file(write_history(tmp_path / "h.jsonl", [upper]), landing)
    assert landed_lines(landing)[0]["event"]["user_id"] == upper["user_id"]
