"""Frame rules without a socket: what is an event, what is a batch, what the reply says."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ingestion.contract import Code
from ingestion.server import frames
from ingestion.server.limits import MAX_BATCH_EVENTS
from tests.ingestion.helpers import batch, dumps, event

NOW = "2026-01-30T18:12:46.000001Z"


def decode(obj: Any) -> frames.Frame | frames.FrameRefusal:
    return frames.decode(obj if isinstance(obj, str | bytes) else dumps(obj))


def refusal(obj: Any) -> tuple[Code, str | None]:
    result = decode(obj)
    assert isinstance(result, frames.FrameRefusal), result
    return result.failure.code, result.failure.field


def test_an_object_with_event_name_is_one_event_even_with_an_events_field() -> None:
    e = event(events=["kept as an unknown field"])
    result = decode(e)
    assert isinstance(result, frames.Frame) and result.events == [e] and not result.is_batch


def test_an_object_with_events_and_no_event_name_is_a_batch() -> None:
    result = decode(batch([event(), event()], batch_id="b-7"))
    assert isinstance(result, frames.Frame)
    assert result.is_batch and len(result.events) == 2 and result.batch_id == "b-7"


def test_sent_at_is_normalized_to_the_servers_utc_format() -> None:
    result = decode(batch([], sent_at="2026-01-30T19:12:46.5+01:00"))
    assert isinstance(result, frames.Frame) and result.sent_at == "2026-01-30T18:12:46.500000Z"


def test_batch_id_and_sent_at_may_be_absent() -> None:
    result = decode({"events": [event()]})
    assert isinstance(result, frames.Frame)
    assert result.batch_id is None and result.sent_at is None


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ("{not json", (Code.INVALID_JSON, None)),
        (b"\xff\xfe{}", (Code.INVALID_JSON, None)),
        ("", (Code.INVALID_JSON, None)),
        ("[]", (Code.FRAME_NOT_OBJECT, None)),
        ('"event"', (Code.FRAME_NOT_OBJECT, None)),
        ("null", (Code.FRAME_NOT_OBJECT, None)),
        ({"events": {"a": 1}}, (Code.INVALID_ENVELOPE, "events")),
        ({"events": [], "batch_id": 7}, (Code.INVALID_ENVELOPE, "batch_id")),
        ({"events": [], "batch_id": "b" * 129}, (Code.INVALID_ENVELOPE, "batch_id")),
        ({"events": [], "sent_at": "yesterday"}, (Code.INVALID_ENVELOPE, "sent_at")),
        ({"events": [], "sent_at": 1706638365}, (Code.INVALID_ENVELOPE, "sent_at")),
        ({"events": [{}] * (MAX_BATCH_EVENTS + 1)}, (Code.BATCH_TOO_LARGE, "events")),
    ],
)
def test_frames_refused_as_a_whole(frame: Any, expected: tuple[Code, str | None]) -> None:
    assert refusal(frame) == expected


def test_a_batch_of_exactly_the_limit_is_a_batch() -> None:
    assert isinstance(decode({"events": [{}] * MAX_BATCH_EVENTS}), frames.Frame)


def test_land_splits_a_batch_into_landed_lines_dead_letters_and_an_ack() -> None:
    good, unknown, bad = event(), event("new_event"), event(result="draw")
    frame = decode(batch([good, unknown, bad, "x"], batch_id="b-9"))
    assert isinstance(frame, frames.Frame)
    out = frames.land(frame, "", NOW, "conn-1")
    landed = [orjson.loads(x) for x in out.events.splitlines()]
    assert [x["event"] for x in landed] == [good, unknown]
    assert [x["status"] for x in landed] == ["valid", "unknown"]
    assert {x["batch_id"] for x in landed} == {"b-9"}
    dead = [orjson.loads(x) for x in out.deadletter.splitlines()]
    assert [(d["index"], d["failure"]["code"]) for d in dead] == [
        (2, "invalid_value"),
        (3, "not_an_object"),
    ]
    assert orjson.loads(dead[0]["raw"]) == bad
    reply = orjson.loads(out.reply)
    assert reply == {
        "type": "ack",
        "batch_id": "b-9",
        "accepted": 2,
        "rejected": [
            {
                "index": 2,
                "event_id": bad["event_id"],
                "code": "invalid_value",
                "field": "result",
                "message": "result must be one of win / loss / disconnect, got 'draw'",
            },
            {
                "index": 3,
                "event_id": None,
                "code": "not_an_object",
                "field": None,
                "message": "an event must be a JSON object",
            },
        ],
    }


def test_refuse_answers_an_error_and_dead_letters_the_raw_text() -> None:
    result = decode("{oops")
    assert isinstance(result, frames.FrameRefusal)
    out = frames.refuse(result, "{oops", NOW, "conn-1")
    reply = orjson.loads(out.reply)
    assert reply["type"] == "error" and reply["code"] == "invalid_json"
    assert orjson.loads(out.deadletter)["raw"] == "{oops"
    assert out.events == b""


def test_a_refusal_not_kept_writes_nothing() -> None:
    result = frames.FrameRefusal(frames.Failure(Code.RATE_LIMITED, None, "slow down"), "b-1")
    out = frames.refuse(result, "", NOW, "conn-1", keep=False)
    assert out.deadletter == b"" and orjson.loads(out.reply)["batch_id"] == "b-1"


def test_a_frame_nested_deeper_than_can_be_stored_is_refused_as_a_whole() -> None:
    deep = "[" * 300 + '"bottom"' + "]" * 300  # orjson reads 1024 levels, writes 254
    raw = dumps(batch([event(), event(deep="DEEP")], batch_id="deep")).replace('"DEEP"', deep)
    frame = frames.decode(raw)
    assert isinstance(frame, frames.Frame)
    out = frames.land(frame, raw, NOW, "conn-1")
    assert out.error == Code.INVALID_JSON and out.events == b""
    assert orjson.loads(out.deadletter)["raw"] == raw
    assert orjson.loads(out.reply)["batch_id"] == "deep"
