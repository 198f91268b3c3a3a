"""Event schema v1: the one definition of what a valid game event is.

The ingestor validates with it, the simulator generates from it, the pandera
schema and the dbt docs are derived from it. Change a rule here and every
stage follows. The source of truth for the rules is the schema document
(`shared/seed/000_e7ad593d7896a6e1.txt`); the bounds below are ours, chosen so
that a sane client never meets them and a broken or hostile one always does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

import orjson

SCHEMA_VERSION = "v1"
PLATFORM = "web"
MAX_EVENT_BYTES = 32 * 1024
SECONDS_PER_DAY = 86_400

Kind = Literal["string", "uuid", "timestamp", "enum", "boolean", "integer", "const"]


class Code(StrEnum):
    """Stable, machine-readable refusal codes. Never renumber or rename: clients match on them."""

    # event level
    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    INVALID_UUID = "invalid_uuid"
    INVALID_TIMESTAMP = "invalid_timestamp"
    INVALID_VALUE = "invalid_value"
    OUT_OF_RANGE = "out_of_range"
    STRING_TOO_LONG = "string_too_long"
    EVENT_TOO_LARGE = "event_too_large"
    # frame level
    INVALID_JSON = "invalid_json"
    FRAME_NOT_OBJECT = "frame_not_object"
    INVALID_ENVELOPE = "invalid_envelope"
    BATCH_TOO_LARGE = "batch_too_large"
    RATE_LIMITED = "rate_limited"
    # landing
    TORN_WRITE = "torn_write"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    kind: Kind
    description: str
    values: tuple[str, ...] = ()  # enum members, or the single value of a const
    max_length: int = 128
    minimum: int = 0
    maximum: int | None = None
    nullable: bool = False

    @property
    def json_type(self) -> str:
        return {"boolean": "boolean", "integer": "integer"}.get(self.kind, "string")


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    description: str
    fields: tuple[FieldSpec, ...]


BASE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("event_name", "string", "Name of the event.", max_length=64),
    FieldSpec("event_version", "string", "Schema version, `v1` for this contract.", max_length=16),
    FieldSpec(
        "event_id", "uuid", "Unique event identifier (UUID); duplicates are deduplicated on it."
    ),
    FieldSpec("user_id", "uuid", "Unique user identifier (UUID)."),
    FieldSpec("session_id", "uuid", "Unique session identifier (UUID)."),
    FieldSpec(
        "timestamp", "timestamp", "Client-side event time, ISO 8601 with a zone (`Z` or offset)."
    ),
    FieldSpec("client_version", "string", "Game client version.", max_length=64),
    FieldSpec("platform", "const", "Platform; always `web`.", values=(PLATFORM,)),
)

EVENT_TYPES: dict[str, EventType] = {
    e.name: e
    for e in (
        EventType(
            "session_start",
            "Emitted when a user starts a new game session.",
            (
                FieldSpec("is_new_user", "boolean", "Whether the user is new (first session)."),
                FieldSpec(
                    "entry_point",
                    "enum",
                    "Where the session started.",
                    values=("lobby", "matchmaking", "invite"),
                ),
            ),
        ),
        EventType(
            "match_played",
            "Emitted when a match ends (win, loss, or disconnect).",
            (
                FieldSpec("match_id", "uuid", "Unique match identifier (UUID)."),
                FieldSpec(
                    "match_duration_sec",
                    "integer",
                    "Match duration in seconds; a match longer than a day is invalid.",
                    maximum=SECONDS_PER_DAY,
                ),
                FieldSpec(
                    "result", "enum", "Outcome of the match.", values=("win", "loss", "disconnect")
                ),
                FieldSpec("opponent_type", "enum", "Kind of opponent.", values=("human", "bot")),
            ),
        ),
        EventType(
            "disconnect",
            "Emitted when a user disconnects unexpectedly.",
            (
                FieldSpec(
                    "disconnect_reason",
                    "enum",
                    "Why the session ended.",
                    values=("network", "quit", "crash"),
                ),
                FieldSpec(
                    "time_since_session_start_sec",
                    "integer",
                    "Seconds from session start to the disconnect; at most 7 days.",
                    maximum=7 * SECONDS_PER_DAY,
                ),
            ),
        ),
    )
}

# Every field any v1 event type may carry, base first: the typed columns of the warehouse.
ALL_FIELDS: tuple[FieldSpec, ...] = BASE_FIELDS + tuple(
    f for e in EVENT_TYPES.values() for f in e.fields
)

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.(\d{1,9}))?(?:Z|[+-]\d{2}:\d{2})")


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an event or frame was refused: a stable `code`, the offending `field`, and prose."""

    code: Code
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "field": self.field, "message": self.message}


Status = Literal["valid", "unknown", "rejected"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """`valid`: a known v1 event. `unknown`: base fields valid, name or version unknown to this
    build; it lands marked so that a newer client never loses data. `rejected`: see `failure`."""

    status: Status
    failure: Failure | None = None

    @property
    def accepted(self) -> bool:
        return self.status != "rejected"


VALID = Verdict("valid")
UNKNOWN = Verdict("unknown")


def parse_timestamp(value: str) -> datetime | None:
    """Parse an ISO 8601 timestamp that carries a zone; None when it is not one."""
    m = _TIMESTAMP.fullmatch(value)
    if m is None:
        return None
    frac = m.group(1)
    if frac is not None and len(frac) > 6:  # datetime holds microseconds; keep the zone suffix
        value = value[: m.start(1) + 6] + value[m.end(1) :]
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def is_uuid(value: str) -> bool:
    return _UUID.fullmatch(value) is not None


def check_field(spec: FieldSpec, value: Any) -> Failure | None:
    """Check one present field against its spec."""
    name, kind = spec.name, spec.kind
    if kind == "boolean":
        if type(value) is not bool:
            return Failure(Code.WRONG_TYPE, name, f"{name} must be a JSON boolean")
        return None
    if kind == "integer":
        if type(value) is not int:
            return Failure(Code.WRONG_TYPE, name, f"{name} must be a JSON integer")
        if value < spec.minimum or (spec.maximum is not None and value > spec.maximum):
            return Failure(
                Code.OUT_OF_RANGE,
                name,
                f"{name} must be between {spec.minimum} and {spec.maximum}, got {value}",
            )
        return None
    if type(value) is not str:
        return Failure(Code.WRONG_TYPE, name, f"{name} must be a JSON string")
    if len(value) > spec.max_length:
        return Failure(
            Code.STRING_TOO_LONG, name, f"{name} is longer than {spec.max_length} characters"
        )
    if kind == "uuid":
        if _UUID.fullmatch(value) is None:
            return Failure(Code.INVALID_UUID, name, f"{name} must be a UUID")
    elif kind == "timestamp":
        if parse_timestamp(value) is None:
            return Failure(
                Code.INVALID_TIMESTAMP,
                name,
                f"{name} must be ISO 8601 with a zone, e.g. 2026-01-30T18:12:45Z",
            )
    elif (kind == "enum" or kind == "const") and value not in spec.values:
        allowed = " / ".join(spec.values)
        return Failure(Code.INVALID_VALUE, name, f"{name} must be one of {allowed}, got {value!r}")
    return None


def _check_fields(event: dict[str, Any], specs: tuple[FieldSpec, ...]) -> Failure | None:
    for spec in specs:
        if spec.name not in event:
            return Failure(Code.MISSING_FIELD, spec.name, f"{spec.name} is required")
        failure = check_field(spec, event[spec.name])
        if failure is not None:
            return failure
    return None


def validate_event(event: Any, size_bytes: int | None = None) -> Verdict:
    """Validate one decoded event. `size_bytes` is its encoded size when the caller knows it;
    otherwise it is measured. Fields the spec does not name are kept and never an error."""
    if not isinstance(event, dict):
        return Verdict(
            "rejected", Failure(Code.NOT_AN_OBJECT, None, "an event must be a JSON object")
        )
    if size_bytes is None:
        size_bytes = len(orjson.dumps(event))
    if size_bytes > MAX_EVENT_BYTES:
        return Verdict(
            "rejected",
            Failure(
                Code.EVENT_TOO_LARGE,
                None,
                f"event is {size_bytes} bytes; the limit is {MAX_EVENT_BYTES}",
            ),
        )
    failure = _check_fields(event, BASE_FIELDS)
    if failure is not None:
        return Verdict("rejected", failure)
    etype = EVENT_TYPES.get(event["event_name"])
    if etype is None or event["event_version"] != SCHEMA_VERSION:
        return UNKNOWN
    failure = _check_fields(event, etype.fields)
    if failure is not None:
        return Verdict("rejected", failure)
    return VALID


def json_schema(event_name: str) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of one event type, for docs and for other-language clients."""
    etype = EVENT_TYPES[event_name]
    props: dict[str, Any] = {}
    for spec in BASE_FIELDS + etype.fields:
        prop: dict[str, Any] = {"type": spec.json_type, "description": spec.description}
        if spec.kind in ("enum", "const"):
            prop["enum"] = list(spec.values)
        if spec.kind == "uuid":
            prop["format"] = "uuid"
        if spec.kind == "timestamp":
            prop["format"] = "date-time"
        if spec.kind == "integer":
            prop["minimum"] = spec.minimum
            if spec.maximum is not None:
                prop["maximum"] = spec.maximum
        elif spec.json_type == "string":
            prop["maxLength"] = spec.max_length
        props[spec.name] = prop
    props["event_name"]["const"] = event_name
    props["event_version"]["const"] = SCHEMA_VERSION
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": event_name,
        "description": etype.description,
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": True,
    }
