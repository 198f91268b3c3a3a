"""Event schema v1: the one definition of what a valid game event is.

The ingestor validates with it, the simulator generates from it, the pandera
schema and the dbt docs are derived from it. Change a rule here and every
stage follows. The source of truth for the rules is the schema document
(`shared/seed/000_e7ad593d7896a6e1.txt`); the bounds below are ours, chosen so
that a sane client never meets them and a broken or hostile one always does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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

UUID_PATTERN = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
TIMESTAMP_PATTERN = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.(\d{1,9}))?(?:Z|[+-]\d{2}:\d{2})"
)


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
    m = TIMESTAMP_PATTERN.fullmatch(value)
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
    return UUID_PATTERN.fullmatch(value) is not None


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
        if UUID_PATTERN.fullmatch(value) is None:
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


# -- the fast path ----------------------------------------------------------------------------
# The ingestor validates every event, and nearly all are valid. So each event type also gets a
# generated function that only answers "does it pass every check of these specs?": no failure to
# describe, hence no call per field nor per rule. A call of Python's regex engine costs more than
# all the other checks of a field together, so UUIDs are not matched by the regex but by string
# operations that run in C, over all the UUIDs of a batch at once (`_uuids_ok`), and the
# timestamps of a batch are matched by one regex call over all of them (`_timestamps_ok`). The
# answer must be yes exactly when `_check_fields` finds no failure (property tests hold it to
# that); on a no, `_check_fields` runs to find the first failure.

Precheck = Callable[[dict[str, Any]], "tuple[str, Any] | None"]


def _uuids_ok(joined: str, n: int) -> bool:
    """Whether `joined` is `n` UUIDs joined by newlines: what `UUID_PATTERN` matches, n times."""
    # Newlines exactly every 37 characters, and no other: n parts of exactly 36 characters.
    if len(joined) != 37 * n - 1 or joined.count("\n") != n - 1:
        return False
    if joined[36::37] != "\n" * (n - 1):
        return False
    dashes = "-" * n
    if not (joined[8::37] == joined[13::37] == joined[18::37] == joined[23::37] == dashes):
        return False
    # The 32n other characters are hex digits iff they decode to 16n bytes: `fromhex` refuses
    # anything but ASCII hex digits and whitespace, and any whitespace or extra dash would leave
    # fewer digits than that.
    try:
        return len(bytes.fromhex(joined.replace("-", "").replace("\n", ""))) == 16 * n
    except ValueError:
        return False


# `\d` of a str pattern is any Unicode digit, slower to match than `[0-9]`. Only ASCII digits
# pass the fast check: other digits then get the ordered checks (`datetime` refuses them anyway),
# so the verdict is the same. No capture group either: the fast check needs none.
_ASCII_TIMESTAMP = re.compile(
    TIMESTAMP_PATTERN.pattern.replace(r"\d", "[0-9]").replace("(?:\\.(", "(?:\\.(?:")
).fullmatch


# Timestamps joined by newlines: one match for all the timestamps of a batch.
_ONE_TIMESTAMP = "(?:" + _ASCII_TIMESTAMP.__self__.pattern + ")"  # type: ignore[attr-defined]
_ASCII_TIMESTAMPS = re.compile(_ONE_TIMESTAMP + "(?:\n" + _ONE_TIMESTAMP + ")*").fullmatch
_fromisoformat = datetime.fromisoformat


def _timestamps_ok(values: list[Any]) -> bool:
    """Whether every value is a timestamp `parse_timestamp` reads (what `check_field` says of a
    timestamp field), in one regex match and one `map` over all of them."""
    try:
        joined = "\n".join(values)  # TypeError unless all are strings
    except TypeError:
        return False
    if joined.count("\n") != len(values) - 1 or _ASCII_TIMESTAMPS(joined) is None:
        return False  # (a value holding a newline would make the count wrong)
    try:
        for _ in map(_fromisoformat, values):
            pass
    except ValueError:
        return all(map(_calendar_ok, values))
    return True


def _calendar_ok(value: str) -> bool:
    """For a string `TIMESTAMP_PATTERN` matches: is it a real date and time, as `parse_timestamp`
    says?"""
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return parse_timestamp(value) is not None  # e.g. more fraction digits than it reads
    return True


@dataclass(frozen=True)
class FastCheck:
    """`precheck(event)` runs every check but the UUIDs' and the timestamp's, and returns its
    UUID fields joined by newlines and its timestamp (None on a no); `uuids` is how many UUIDs
    there are."""

    precheck: Precheck
    uuids: int
    source: str  # of `precheck`, for whoever debugs it

    def __call__(self, event: dict[str, Any]) -> bool:
        found = self.precheck(event)
        return found is not None and _uuids_ok(found[0], self.uuids) and _timestamps_ok([found[1]])


def compile_fast_check(
    specs: tuple[FieldSpec, ...], known: frozenset[str] = frozenset(), name: str = "base"
) -> FastCheck:
    """`fast(event)` is True iff `_check_fields(event, specs)` is None, for events whose fields
    named in `known` the caller has already found valid."""
    env: dict[str, Any] = {"_timestamp_shape": _ASCII_TIMESTAMP, "_calendar_ok": _calendar_ok}
    checked = [(i, spec) for i, spec in enumerate(specs) if spec.name not in known]
    loads = [f"        v{i} = e[{spec.name!r}]" for i, spec in checked]
    tests: list[str] = []
    uuids: list[str] = []
    stamps: list[str] = []
    for i, spec in checked:
        v = f"v{i}"
        if spec.kind == "boolean":
            tests.append(f"({v} is True or {v} is False)")
        elif spec.kind == "integer":
            high = "" if spec.maximum is None else f" <= {spec.maximum}"
            tests.append(f"type({v}) is int and {spec.minimum} <= {v}{high}")
        elif spec.kind in ("enum", "const"):
            # Only a string equals a member (an unhashable value raises TypeError: a no), and
            # membership implies the length bound.
            assert all(len(x) <= spec.max_length for x in spec.values)
            env[f"_values{i}"] = frozenset(spec.values)
            tests.append(f"{v} in _values{i}")
        elif spec.kind == "uuid":
            # Joining raises TypeError unless it is a string; a UUID is shorter than the bound.
            assert spec.max_length >= 36
            uuids.append(v)
        elif spec.kind == "timestamp":
            # A match of `TIMESTAMP_PATTERN` is never longer than the bound.
            assert len("2026-01-30T18:12:45.123456789+01:00") <= spec.max_length
            stamps.append(v)  # checked by `_timestamps_ok`, a batch at a time
        else:
            tests.append(f"type({v}) is str and len({v}) <= {spec.max_length}")
    assert uuids, "every event has UUID fields"
    assert len(stamps) == 1, "every event has one timestamp (its client time)"
    tests = tests or ["True"]
    source = "\n".join(
        [
            "def precheck(e):",
            "    try:",
            *loads,
            "        if (",
            *(f"            {'and ' if k else ''}{t}" for k, t in enumerate(tests)),
            "        ):",
            f"            return '\\n'.join(({', '.join(uuids)},)), {stamps[0]}",
            "    except (KeyError, TypeError):  # a field is missing, or of the wrong type",
            "        pass",
            "    return None",
        ]
    )
    exec(compile(source, f"<ingestion.contract fast check of {name}>", "exec"), env)
    return FastCheck(precheck=env["precheck"], uuids=len(uuids), source=source)


_FAST_BASE = compile_fast_check(BASE_FIELDS)
# For a known type, `validate_event` has already matched event_name and event_version.
_FAST_TYPES: dict[str, FastCheck] = {
    name: compile_fast_check(
        BASE_FIELDS + e.fields, frozenset({"event_name", "event_version"}), name
    )
    for name, e in EVENT_TYPES.items()
}


_FIELD_COUNTS = {name: len(BASE_FIELDS) + len(e.fields) for name, e in EVENT_TYPES.items()}


def _fast_check_for(event: dict[str, Any]) -> tuple[FastCheck, Verdict]:
    """The fast check that applies to an event, and the verdict when it passes."""
    name = event.get("event_name")
    if type(name) is str and event.get("event_version") == SCHEMA_VERSION:
        fast = _FAST_TYPES.get(name)
        if fast is not None:
            return fast, VALID
    return _FAST_BASE, UNKNOWN


def _too_large(size_bytes: int) -> Verdict:
    return Verdict(
        "rejected",
        Failure(
            Code.EVENT_TOO_LARGE,
            None,
            f"event is {size_bytes} bytes; the limit is {MAX_EVENT_BYTES}",
        ),
    )


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
        return _too_large(size_bytes)
    fast, verdict = _fast_check_for(event)
    if fast(event):
        return verdict
    return _explain(event)


def _explain(event: dict[str, Any]) -> Verdict:
    """The ordered checks: the verdict, naming the first failure."""
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


def validate_events(events: list[Any], sizes: list[int]) -> list[Verdict]:
    """`[validate_event(e, n) for e, n in zip(events, sizes)]`, faster for a batch: the UUIDs of
    all its events are checked at once."""
    return validate_batch(events, sizes)[0]


def is_plain(event: Any, verdict: Verdict) -> bool:
    """Whether an event is valid and holds no field but its type's: then every value it carries
    is one the contract typed (no float, no number beyond 64 bits, nothing nested)."""
    return verdict is VALID and len(event) == _FIELD_COUNTS[event["event_name"]]


def validate_batch(events: list[Any], sizes: list[int]) -> tuple[list[Verdict], bool]:
    """The verdicts of `validate_events`, and whether every event `is_plain`."""
    verdicts: list[Verdict | None] = [None] * len(events)
    plain = True
    counts = _FIELD_COUNTS
    # (index, verdict, joined UUIDs, count, timestamp) of each event that passed the prechecks
    passed: list[tuple[int, Verdict, str, int, Any]] = []
    joined_all: list[str] = []
    stamps: list[Any] = []
    count = 0
    limit = MAX_EVENT_BYTES
    types, base, v1 = _FAST_TYPES, _FAST_BASE, SCHEMA_VERSION
    for index, event in enumerate(events):
        if type(event) is dict and sizes[index] <= limit:
            # As `_fast_check_for`, inline: this loop runs for every event of every frame.
            name = event.get("event_name")
            fast = (
                types.get(name) if type(name) is str and event.get("event_version") == v1 else None
            )
            fast, verdict = (base, UNKNOWN) if fast is None else (fast, VALID)
            found = fast.precheck(event)
            if found is not None:
                if verdict is UNKNOWN or len(event) != counts[name]:
                    plain = False
                joined, stamp = found
                passed.append((index, verdict, joined, fast.uuids, stamp))
                joined_all.append(joined)
                stamps.append(stamp)
                count += fast.uuids
                continue
        verdicts[index] = validate_event(event, sizes[index])
        plain = False
    if passed:
        if _uuids_ok("\n".join(joined_all), count) and _timestamps_ok(stamps):
            for index, verdict, _, _, _ in passed:
                verdicts[index] = verdict
        else:  # some event has a bad UUID or timestamp: find which, one by one
            plain = False
            for index, verdict, joined, n, stamp in passed:
                ok = _uuids_ok(joined, n) and _timestamps_ok([stamp])
                verdicts[index] = verdict if ok else _explain(events[index])
    return verdicts, plain  # type: ignore[return-value]


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
