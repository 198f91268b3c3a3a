"""One frame in; the lines to land, the lines to dead-letter and the one reply out.

A frame is a JSON object: either one event, or a batch envelope
`{"batch_id": "...", "sent_at": "<ISO 8601>", "events": [...]}` (an object with `events` and
without `event_name`). Refusals of a whole frame get an `error` reply and the frame's raw text is
dead-lettered; refusals of single events are listed in the `ack` and dead-lettered one by one.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from ingestion.contract import (
    Code,
    Failure,
    is_plain,
    parse_timestamp,
    validate_batch,
    validate_event,
)
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


# orjson reads every number that is not an integer of at most 64 bits as a double, so
# 123456789012345678901234567890 would land as 1.2345678901234568e+29 and 0.10000000000000001 as
# 0.1. A frame one of whose events holds a float is therefore read again by the standard
# library, which keeps every integer exactly and every other number as the text the client sent
# (`orjson.Fragment`). A plain v1 event (valid, with only its type's fields: `is_plain`) holds
# none, so the common frame never pays for the look.
_INT64 = (-(2**63), 2**64 - 1)  # what orjson writes as an integer
_values = dict.values


def _has_float(values: Iterable[Any]) -> bool:
    kinds = set(map(type, values))
    if float in kinds:
        return True
    if dict in kinds or list in kinds:
        nested = [v for v in values if type(v) is dict or type(v) is list]
        return any(_has_float(_values(v) if type(v) is dict else v) for v in nested)
    return False


def _exact_frame(frame: Frame, raw: str | bytes) -> Frame | None:
    """The frame read again with its numbers exact, when one of its events holds a float (None
    when none does, or when the standard library cannot read it: deeper than it goes)."""
    if not _has_float(frame.events):
        return None
    try:
        exact = decode(json.loads(raw, parse_float=orjson.Fragment))
    except (RecursionError, ValueError):
        return None
    return exact if isinstance(exact, Frame) else None


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
    """The event's JSON: numbers as they were read (see `_exact_frame`), however big."""
    try:
        return _dumps(event)
    except orjson.JSONEncodeError:
        return _dumps(_exact_copy(event))  # raises again when nested too deep to write


def decode(data: str | bytes | dict[str, Any]) -> Frame | FrameRefusal:
    """Parse a frame (unless given parsed) and check its envelope; events are checked later,
    one by one."""
    try:
        obj = data if type(data) is dict else _loads(data)  # type: ignore[arg-type]
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
        return _land(frame, received_at, connection_id, raw)
    except orjson.JSONEncodeError as e:  # nested deeper than orjson writes (254 levels)
        failure = Failure(Code.INVALID_JSON, None, f"an event of this frame cannot be stored: {e}")
        return refuse(FrameRefusal(failure, frame.batch_id), raw, received_at, connection_id)


def _land(
    frame: Frame, received_at: str, connection_id: str, raw: str | bytes | None = None
) -> Outcome:
    events = frame.events
    try:
        texts = list(map(_dumps, events))
    except orjson.JSONEncodeError:  # an integer beyond 64 bits (or nesting past 254 levels)
        texts = list(map(_dumps_exact, events))
    if len(events) == 1:
        verdicts = [validate_event(events[0], len(texts[0]))]
        plain = is_plain(events[0], verdicts[0])
    else:
        verdicts, plain = validate_batch(events, list(map(len, texts)))
    if not plain and raw is not None and (exact := _exact_frame(frame, raw)) is not None:
        return _land(exact, received_at, connection_id)
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
    out.reply = ack(frame.batch_id, out.valid + out.unknown, rejected)
    return out


def ack(batch_id: str | None, accepted: int, rejected: list[dict[str, Any]]) -> bytes:
    """The ack of a frame: `{"type":"ack","batch_id":…,"accepted":n,"rejected":[…]}`."""
    if rejected:
        return _dumps(
            {"type": "ack", "batch_id": batch_id, "accepted": accepted, "rejected": rejected}
        )
    # The common ack, in about a tenth of the time: byte for byte what orjson writes.
    if batch_id is None:
        return _ACK_HEAD_NO_BATCH + str(accepted).encode() + _ACK_TAIL
    return (
        b'{"type":"ack","batch_id":'
        + _dumps(batch_id)
        + b',"accepted":'
        + str(accepted).encode()
        + _ACK_TAIL
    )


_ACK_HEAD_NO_BATCH = b'{"type":"ack","batch_id":null,"accepted":'
_ACK_TAIL = b',"rejected":[]}'


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
