"""Events are v1 events: built from the contract, valid when meant to be, refused when not."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from ingestion.contract import BASE_FIELDS, EVENT_TYPES, Code, Failure, is_uuid, validate_event
from ingestion.landing.layout import Stream, published_shards
from ingestion.landing.lines import deadletter_line, event_line, format_ts
from ingestion.simulator import faults
from ingestion.simulator.events import (
    BUILDERS,
    EVENT_KEYS,
    client_ts,
    make_event,
    new_uuid,
    server_ts,
)
from tests.ingestion.simulator.conftest import Run

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SAMPLE_EXTRA = {
    "session_start": (True, "invite"),
    "match_played": ("1b4e28ba-2fa1-41d2-883f-0016d3cca427", 312, "loss", "human"),
    "disconnect": ("quit", 185),
}


def sample_event(name: str) -> dict:
    rng = random.Random(name)
    return make_event(
        name,
        new_uuid(rng),
        new_uuid(rng),
        new_uuid(rng),
        "2026-01-30T18:12:45.123Z",
        "1.5.0",
        SAMPLE_EXTRA[name],
    )


def test_timestamps_are_formatted_like_the_browser_and_the_server() -> None:
    rng = random.Random(3)
    for _ in range(2000):
        us = rng.randrange(1_700_000_000_000_000, 1_900_000_000_000_000)
        when = EPOCH + timedelta(microseconds=us)
        assert server_ts(us) == format_ts(when)
        ms = us // 1000
        browser = (EPOCH + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds")
        assert client_ts(ms) == browser.replace("+00:00", "Z")


def test_event_keys_are_the_contract_fields_in_contract_order() -> None:
    base = tuple(f.name for f in BASE_FIELDS)
    for name, etype in EVENT_TYPES.items():
        assert EVENT_KEYS[name] == base + tuple(f.name for f in etype.fields)
        assert tuple(sample_event(name)) == EVENT_KEYS[name]
    assert set(BUILDERS) == set(EVENT_TYPES)


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_built_events_pass_the_contract(name: str) -> None:
    assert validate_event(sample_event(name)).status == "valid"


def test_ids_are_uuids_drawn_from_the_seeded_rng() -> None:
    a, b = random.Random("seed"), random.Random("seed")
    ids = [new_uuid(a) for _ in range(500)]
    assert ids == [new_uuid(b) for _ in range(500)]
    assert len(set(ids)) == 500
    assert all(is_uuid(i) and i[14] == "4" and i[19] in "89ab" for i in ids)


EXPECTED_CODES = {
    faults.missing_field: {Code.MISSING_FIELD},
    faults.invalid_uuid: {Code.INVALID_UUID},
    faults.invalid_timestamp: {Code.INVALID_TIMESTAMP},
    faults.wrong_type: {Code.WRONG_TYPE},
    faults.invalid_value: {Code.INVALID_VALUE},
    faults.out_of_range: {Code.OUT_OF_RANGE},
}


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
@pytest.mark.parametrize("corruption", faults.CORRUPTIONS, ids=lambda f: f.__name__)
def test_each_corruption_breaks_one_rule_with_its_code(name: str, corruption: object) -> None:
    rng = random.Random(7)
    for _ in range(30):
        event = sample_event(name)
        corruption(rng, event)  # type: ignore[operator]
        verdict = validate_event(event)
        assert verdict.status == "rejected"
        assert verdict.failure is not None
        expected = EXPECTED_CODES[corruption]  # type: ignore[index]
        if corruption is faults.out_of_range and name == "session_start":
            expected = {Code.INVALID_VALUE}  # no integer field: falls back to a bad enum
        assert verdict.failure.code in expected


def test_a_corrupted_copy_has_a_new_id_and_leaves_the_original_valid() -> None:
    rng = random.Random(1)
    original = sample_event("match_played")
    before = dict(original)
    broken = faults.corrupt(rng, original, new_uuid(rng))
    assert original == before and validate_event(original).status == "valid"
    assert broken.get("event_id") != original["event_id"]
    assert validate_event(broken).status == "rejected"


def test_every_landed_event_passes_the_contract(faulty_run: Run) -> None:
    assert faulty_run.landed.lines
    for line in faulty_run.landed.lines:
        assert line["status"] == "valid"
        assert validate_event(line["event"]).status == "valid", line["event"]


def test_every_malformed_event_is_dead_lettered_with_the_contracts_failure(
    faulty_run: Run,
) -> None:
    dead = faulty_run.landed.deadletter
    assert len(dead) >= 50
    codes = set()
    for line in dead:
        verdict = validate_event(orjson.loads(line["raw"]))
        assert verdict.failure is not None
        assert line["failure"] == verdict.failure.as_dict()
        codes.add(line["failure"]["code"])
    assert codes == {str(c) for cs in EXPECTED_CODES.values() for c in cs}


def test_landed_lines_are_byte_for_byte_the_landing_modules_lines(faulty_run: Run) -> None:
    checked = 0
    for stream in Stream:
        for shard in published_shards(faulty_run.landing_root, stream):
            for raw in shard.read_bytes().splitlines(keepends=True):
                d = orjson.loads(raw)
                if stream == Stream.EVENTS:
                    again = event_line(
                        d["event"], d["received_at"], d["connection_id"], d["status"],
                        d["sent_at"], d["batch_id"],
                    )  # fmt: skip
                else:
                    failure = Failure(Code(d["failure"]["code"]), d["failure"]["field"],
                                      d["failure"]["message"])  # fmt: skip
                    again = deadletter_line(
                        d["raw"], failure, d["received_at"], d["connection_id"], d["sent_at"],
                        d["batch_id"], d["index"],
                    )  # fmt: skip
                assert raw == again
                checked += 1
    assert checked > 1000
