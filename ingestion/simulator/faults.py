"""Malformed events: what buggy clients send. Each corruption breaks exactly one v1 rule, so the
contract refuses the event with a known code (the dead-letter stream is exercised on purpose)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ingestion.contract import ALL_FIELDS, BASE_FIELDS, EVENT_TYPES, FieldSpec

Event = dict[str, Any]


def _specs(event: Event) -> tuple[FieldSpec, ...]:
    etype = EVENT_TYPES.get(event.get("event_name", ""))
    return BASE_FIELDS + (etype.fields if etype else ())


def _pick(rng: random.Random, event: Event, kinds: tuple[str, ...]) -> FieldSpec | None:
    specs = [s for s in _specs(event) if s.kind in kinds and s.name in event]
    return rng.choice(specs) if specs else None


def missing_field(rng: random.Random, event: Event) -> None:
    del event[rng.choice(_specs(event)).name]


def invalid_uuid(rng: random.Random, event: Event) -> None:
    spec = _pick(rng, event, ("uuid",))
    assert spec is not None
    event[spec.name] = f"{spec.name.removesuffix('_id')}-{rng.randrange(10**6)}"


def invalid_timestamp(rng: random.Random, event: Event) -> None:
    # A local time without a zone, as a client built with `toLocaleString` would send.
    event["timestamp"] = event["timestamp"].removesuffix("Z").replace("T", " ")


def wrong_type(rng: random.Random, event: Event) -> None:
    spec = _pick(rng, event, ("integer", "boolean"))
    if spec is None:  # no typed field: the timestamp as epoch milliseconds, a number
        event["timestamp"] = rng.randrange(1_700_000_000_000, 1_800_000_000_000)
        return
    event[spec.name] = str(event[spec.name]).lower()


def invalid_value(rng: random.Random, event: Event) -> None:
    spec = _pick(rng, event, ("enum", "const"))
    assert spec is not None  # platform is a const of every event
    event[spec.name] = rng.choice(("draw", "unknown", "ios", "rage", ""))


def out_of_range(rng: random.Random, event: Event) -> None:
    spec = _pick(rng, event, ("integer",))
    if spec is None:
        invalid_value(rng, event)
        return
    event[spec.name] = -1 - rng.randrange(1000)


CORRUPTIONS: tuple[Callable[[random.Random, Event], None], ...] = (
    missing_field,
    invalid_uuid,
    invalid_timestamp,
    wrong_type,
    invalid_value,
    out_of_range,
)

# The contract must still have the kinds of fields the corruptions aim at.
assert {"uuid", "timestamp", "integer", "boolean", "enum", "const"} <= {f.kind for f in ALL_FIELDS}


def corrupt(rng: random.Random, event: Event, fresh_id: str) -> Event:
    """A broken copy of a valid event, under a new event id (the original stays valid)."""
    bad = dict(event)
    bad["event_id"] = fresh_id
    rng.choice(CORRUPTIONS)(rng, bad)
    return bad
