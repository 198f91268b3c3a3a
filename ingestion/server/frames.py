"""One frame in; the lines to land, the lines to dead-letter and the one reply out.

A frame is a JSON object: either one event, or a batch envelope
`{"batch_id": "...", "sent_at": "<ISO 8601>", "events": [...]}` (an object with `events` and
without `event_name`). Refusals of a whole frame get an `error` reply and the frame's raw text is
dead-lettered; refusals of single events are listed in the `ack` and dead-lettered one by one.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson

from ingestion.contract import Code, Failure, parse_timestamp, validate_event, validate_events
from ingestion.landing.lines import FrameLines, deadletter_line, format_ts, frame_lines
from ingestion.server.limits import MAX_BATCH_EVENTS, MAX_BATCH_ID_LENGTH

_dumps = orjson.dumps
_loads = orjson.loads


@dataclass(slots=True)
class Frame:
    """A decoded frame: its events, and the envelope fields when it was a batch."""

    events: list[Any]
    batch_id: str | None = None
    sent_at: str | None = None  # normalized to the server's format (UTC, microseconds, Z)
    is_batch: bool = False


@dataclass(slots=True)
class FrameRefusal:
    """A frame refused as a whole. `batch_id` is set when the envelope got that far, `events`
    when its events could be counted (what the frame costs of the connection's rate)."""

    failure: Failure
    batch_id: str | None = None
    events: int = 0


@dataclass(slots=True)
class Outcome(FrameLines):
    """What to write (the frame's lines) and what to answer for one frame."""

    reply: bytes = b""  # the ack or error, JSON text
    refused: Counter[str] | None = None  # event refusals by code, when there are some
    error: Code | None = None  # set when the frame was refused as a whole


# Numbers a double cannot always hold: 16 digits or more, a fraction, an exponent. orjson reads
# them as doubles (123456789012345678901234567890 would land as 1.2345678901234568e+29), so a
# frame that may hold one is read again by the standard library, which keeps every integer
# exactly, and keeps every other number as the text the client sent (`orjson.Fragment`). A
# number follows `":`, `,` or `[`: inside strings (a timestamp's "18:12:45.123") the pattern
# rarely matches, and a match there only costs the exact reading.
_INEXACT_NUMBER = re.compile(rb'(?:"\s*:|[,\[])\s*-?(?:[0-9]{16}|[0-9]+[.eE])').search
_INT64 = (-(2**63), 2**64 - 1)  # what orjson writes as an integer


def _exact_loads(data: bytes | str, fast: Any) -> Any:
    """`data` parsed with its numbers exact, when it may hold a number that `fast` (orjson's
    reading) does not hold exactly; else `fast` itself."""
    raw = data.encode() if isinstance(data, str) else data
    if _INEXACT_NUMBER(raw) is None:
        return fast
    try:
        return json.loads(raw.decode(), parse_float=orjson.Fragment)
    except (RecursionError, ValueError):  # deeper than it reads: orjson's reading refuses it
        return fast


def _exact_copy(value: Any) -> Any:
    """`value` with the integers orjson cannot write (beyond 64 bits) as their digits."""
    if type(value) is int:
        return value if _INT64[0] <= value <= _INT64[1] else orjson.Fragment(str(value))
    if type(value) is dict:
        return {k: _exact_copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_exact_copy(v) for v in value]
    return value


def _dumps_exact(event: Any) -> bytes:
    """The event's JSON: numbers as they were read (see `_exact_loads`), however big."""
    try:
        return _dumps(event)
    except orjson.JSONEncodeError:
        return _dumps(_exact_copy(event))  # raises again when nested too deep to write


def decode(data: str | bytes) -> Frame | FrameRefusal:
    """Parse a frame and check its envelope; events are checked later, one by one."""
    try:
        obj = _exact_loads(data, _loads(data))
    except orjson.JSONDecodeError as e:
        return FrameRefusal(Failure(Code.INVALID_JSON, None, f"frame is not JSON: {e}"))
    if type(obj) is not dict:
        return FrameRefusal(
            Failure(
                Code.FRAME_NOT_OBJECT,
                None,
                f"a frame must be a JSON object (an event or a batch), got {_json_kind(obj)}",
            )
        )
    if "events" not in obj or "event_name" in obj:
        return Frame([obj])
    return _envelope(obj)


def _envelope(obj: dict[str, Any]) -> Frame | FrameRefusal:
    batch_id = obj.get("batch_id")
    if batch_id is not None and (type(batch_id) is not str or len(batch_id) > MAX_BATCH_ID_LENGTH):
        return FrameRefusal(
            Failure(
                Code.INVALID_ENVELOPE,
                "batch_id",
                f"batch_id must be a string of at most {MAX_BATCH_ID_LENGTH} characters or null",
            )
        )
    events = obj["events"]
    if type(events) is not list:
        return FrameRefusal(
            Failure(Code.INVALID_ENVELOPE, "events", "events must be a JSON array of events"),
            batch_id,
        )
    if len(events) > MAX_BATCH_EVENTS:
        return FrameRefusal(
            Failure(
                Code.BATCH_TOO_LARGE,
                "events",
                f"a batch holds at most {MAX_BATCH_EVENTS} events, got {len(events)}; "
                "split it into several frames",
            ),
            batch_id,
            len(events),
        )
    sent_at = obj.get("sent_at")
    if sent_at is not None:
        when = parse_timestamp(sent_at) if type(sent_at) is str and len(sent_at) <= 64 else None
        if when is None:
            return FrameRefusal(
                Failure(
                    Code.INVALID_ENVELOPE,
                    "sent_at",
                    "sent_at must be ISO 8601 with a zone, e.g. 2026-01-30T18:12:45.123Z, or null",
                ),
                batch_id,
            )
        sent_at = format_ts(when)
    return Frame(events, batch_id, sent_at, is_batch=True)


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return type(value).__name__


def land(frame: Frame, raw: str | bytes, received_at: str, connection_id: str) -> Outcome:
    """Validate every event of a frame: accepted ones become landed lines, refused ones
    dead-letter lines and entries of the ack's `rejected` list (with their index)."""
    try:
        return _land(frame, received_at, connection_id)
    except orjson.JSONEncodeError as e:  # nested deeper than orjson writes (254 levels)
        failure = Failure(Code.INVALID_JSON, None, f"an event of this frame cannot be stored: {e}")
        return refuse(FrameRefusal(failure, frame.batch_id), raw, received_at, connection_id)


def _land(frame: Frame, received_at: str, connection_id: str) -> Outcome:
    events = frame.events
    texts = list(map(_dumps_exact, events))  # raises JSONEncodeError past 254 levels of nesting
    if len(events) == 1:
        verdicts = [validate_event(events[0], len(texts[0]))]
    else:
        verdicts = validate_events(events, list(map(len, texts)))
    out = Outcome()
    frame_lines(texts, verdicts, received_at, connection_id, frame.sent_at, frame.batch_id, out)
    rejected: list[dict[str, Any]] = []
    if out.rejected:
        out.refused = Counter(failure.code for _, failure in out.rejected)
        rejected = [
            {
                "index": index,
                "event_id": _event_id(events[index]),
                "code": failure.code,
                "field": failure.field,
                "message": failure.message,
            }
            for index, failure in out.rejected
        ]
    out.reply = _dumps(
        {
            "type": "ack",
            "batch_id": frame.batch_id,
            "accepted": out.valid + out.unknown,
            "rejected": rejected,
        }
    )
    return out


def _event_id(event: Any) -> str | None:
    """The refused event's id when it has a plausible one, so the client can match it."""
    if type(event) is dict:
        event_id = event.get("event_id")
        if type(event_id) is str and len(event_id) <= 128:
            return event_id
    return None


def refuse(
    refusal: FrameRefusal,
    raw: bytes | str,
    received_at: str,
    connection_id: str,
    *,
    keep: bool = True,
) -> Outcome:
    """A frame refused as a whole: an error reply, and its bytes dead-lettered exactly (unless
    `keep` is False: a rate-limited frame is for the client to resend, not for us to store)."""
    failure = refusal.failure
    out = Outcome(error=failure.code)
    if keep:
        out.deadletter = deadletter_line(
            raw, failure, received_at, connection_id, batch_id=refusal.batch_id
        )
    out.reply = error_reply(failure, refusal.batch_id)
    return out


def error_reply(failure: Failure, batch_id: str | None = None) -> bytes:
    return _dumps(
        {
            "type": "error",
            "code": failure.code,
            "field": failure.field,
            "message": failure.message,
            "batch_id": batch_id,
        }
    )
