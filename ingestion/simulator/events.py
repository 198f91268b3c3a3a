"""v1 events as the simulated web client builds them, from `ingestion/contract.py` only.

Field names come from the contract's `BASE_FIELDS` and `EVENT_TYPES`; enum members are looked up
in the contract at import time, so a change to the contract fails here loudly instead of making
the simulator emit events the ingestor refuses. Identifiers are UUIDs drawn from the caller's
seeded RNG (never `uuid4`) so that a seed reproduces every id. Timestamps are formatted with
integer arithmetic: this runs once per event, tens of millions of times in a benchmark.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np

from ingestion.contract import BASE_FIELDS, EVENT_TYPES, PLATFORM, SCHEMA_VERSION

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
_EPOCH = date(1970, 1, 1)

SESSION_START = "session_start"
MATCH_PLAYED = "match_played"
DISCONNECT = "disconnect"

# The order in which `make_event` supplies base values; checked against the contract below.
_BASE_ORDER = (
    "event_name",
    "event_version",
    "event_id",
    "user_id",
    "session_id",
    "timestamp",
    "client_version",
    "platform",
)
if tuple(f.name for f in BASE_FIELDS) != _BASE_ORDER:  # pragma: no cover - contract changed
    raise RuntimeError(
        "ingestion/contract.py BASE_FIELDS changed; update _BASE_ORDER and make_event in "
        "ingestion/simulator/events.py to match"
    )


def _members(event_name: str, field: str, expected: tuple[str, ...]) -> tuple[str, ...]:
    """The enum members the simulator uses, checked to exist in the contract."""
    spec = next((f for f in EVENT_TYPES[event_name].fields if f.name == field), None)
    if spec is None or not set(expected) <= set(spec.values):
        raise RuntimeError(
            f"the contract no longer defines {event_name}.{field} with {expected}; "
            "update ingestion/simulator to the new contract"
        )
    return expected


LOBBY, MATCHMAKING, INVITE = _members(
    SESSION_START, "entry_point", ("lobby", "matchmaking", "invite")
)
WIN, LOSS, MATCH_DISCONNECT = _members(MATCH_PLAYED, "result", ("win", "loss", "disconnect"))
HUMAN, BOT = _members(MATCH_PLAYED, "opponent_type", ("human", "bot"))
NETWORK, QUIT, CRASH = _members(DISCONNECT, "disconnect_reason", ("network", "quit", "crash"))

# Keys of each event type, base fields first, in contract order.
EVENT_KEYS: dict[str, tuple[str, ...]] = {
    name: _BASE_ORDER + tuple(f.name for f in etype.fields) for name, etype in EVENT_TYPES.items()
}
for _name, _arity in ((SESSION_START, 2), (MATCH_PLAYED, 4), (DISCONNECT, 2)):
    if len(EVENT_KEYS[_name]) != len(_BASE_ORDER) + _arity:  # pragma: no cover
        raise RuntimeError(f"the contract changed the fields of {_name}; update the simulator")


def _compile_builder(name: str) -> Callable[..., dict[str, Any]]:
    """A function that builds `name` events as one dict display, keys in contract order.

    Compiled from the contract's field list at import: four times faster than `dict(zip(...))`,
    which matters at tens of millions of events, and still nothing hand-written per field."""
    keys = EVENT_KEYS[name]
    values = [*_BASE_ORDER[:7], "platform"] + [f"extra[{i}]" for i in range(len(keys) - 8)]
    values[0], values[1] = "name", "version"
    body = ", ".join(f"{key!r}: {value}" for key, value in zip(keys, values, strict=True))
    source = (
        "def build(event_id, user_id, session_id, timestamp, client_version, extra):\n"
        f"    return {{{body}}}\n"
    )
    namespace: dict[str, Any] = {"name": name, "version": SCHEMA_VERSION, "platform": PLATFORM}
    exec(compile(source, f"<v1 {name} builder>", "exec"), namespace)
    return namespace["build"]  # type: ignore[no-any-return]


# name -> build(event_id, user_id, session_id, timestamp, client_version, extra) -> event
BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    name: _compile_builder(name) for name in EVENT_KEYS
}


def make_event(
    name: str,
    event_id: str,
    user_id: str,
    session_id: str,
    timestamp: str,
    client_version: str,
    extra: tuple[Any, ...],
) -> dict[str, Any]:
    """One client event; `extra` holds the type's own fields in contract order."""
    return BUILDERS[name](event_id, user_id, session_id, timestamp, client_version, extra)


# RFC 4122 variant nibble for each random hex digit (a table: this runs once per event).
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def new_uuid(rng: random.Random) -> str:
    """A version-4 shaped UUID from the seeded RNG."""
    h = rng.randbytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


_DATES: dict[int, str] = {}
# "THH:MM:SS." for every second of a day, and ".mmmZ" tails: formatting by table lookup is
# several times faster than format specs, and this runs for every event and every line.
_CLOCK = tuple(
    f"T{h:02d}:{m:02d}:{s:02d}." for h in range(24) for m in range(60) for s in range(60)
)
_MILLIS = tuple(f"{i:03d}Z" for i in range(1000))


def _date_text(day: int) -> str:
    text = _DATES.get(day)
    if text is None:
        text = _DATES[day] = (_EPOCH + timedelta(days=day)).isoformat()
    return text


def client_ts(ms: int) -> str:
    """Epoch milliseconds as a browser writes them (`Date.toISOString()`): `...T18:12:45.123Z`."""
    day, rem = divmod(ms, DAY_MS)
    sec, milli = divmod(rem, 1000)
    return (_DATES.get(day) or _date_text(day)) + _CLOCK[sec] + _MILLIS[milli]


# Two and three decimal digits as bytes, for the vectorized formatter below.
_DEC2 = np.frombuffer(b"".join(f"{i:02d}".encode() for i in range(100)), dtype=np.uint8).reshape(
    100, 2
)
_DEC3 = np.frombuffer(b"".join(f"{i:03d}".encode() for i in range(1000)), dtype=np.uint8).reshape(
    1000, 3
)


def client_ts_many(ms: np.ndarray) -> list[str]:
    """`client_ts` of every element of an int64 array, formatted in numpy."""
    n = len(ms)
    if n == 0:
        return []
    day, rem = np.divmod(ms, DAY_MS)
    sec, milli = np.divmod(rem, 1000)
    days, which = np.unique(day, return_inverse=True)
    dates = np.frombuffer("".join(_date_text(int(d)) for d in days).encode(), dtype=np.uint8)
    text = np.empty((n, 24), dtype=np.uint8)
    text[:, 0:10] = dates.reshape(len(days), 10)[which]
    text[:, 10], text[:, 13], text[:, 16], text[:, 19], text[:, 23] = b"T::.Z"
    text[:, 11:13] = _DEC2[sec // 3600]
    text[:, 14:16] = _DEC2[sec // 60 % 60]
    text[:, 17:19] = _DEC2[sec % 60]
    text[:, 20:23] = _DEC3[milli]
    joined = text.tobytes().decode("ascii")
    return [joined[i : i + 24] for i in range(0, 24 * n, 24)]


def server_ts(us: int) -> str:
    """Epoch microseconds in the server's format; equal to `ingestion.landing.lines.format_ts`."""
    day, rem = divmod(us, 86_400_000_000)
    sec, micro = divmod(rem, 1_000_000)
    return (_DATES.get(day) or _date_text(day)) + _CLOCK[sec] + str(1_000_000 + micro)[1:] + "Z"


def date_text(ms: int) -> str:
    """The UTC date of epoch milliseconds, `YYYY-MM-DD`."""
    return _date_text(ms // DAY_MS)


def day_ms(day: date) -> int:
    """Epoch milliseconds of midnight UTC of `day`."""
    return (day - _EPOCH).days * DAY_MS
