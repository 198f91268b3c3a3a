"""The v1 contract: what is valid, what is refused with which code and field, what is kept."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.contract import (
    BASE_FIELDS,
    EVENT_TYPES,
    MAX_EVENT_BYTES,
    Code,
    Failure,
    Verdict,
    check_field,
    parse_timestamp,
    validate_event,
    validate_events,
)
from tests.ingestion.helpers import event, without


def refused(e: Any) -> tuple[Code, str | None]:
    verdict = validate_event(e)
    assert verdict.status == "rejected", verdict
    assert verdict.failure is not None
    return verdict.failure.code, verdict.failure.field


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_a_complete_event_of_each_type_is_valid(name: str) -> None:
    assert validate_event(event(name)) == Verdict("valid")


def test_the_schema_document_examples_are_valid() -> None:
    e = event("session_start", timestamp="2026-01-30T18:12:45Z", is_new_user=False)
    assert validate_event(e).status == "valid"


@pytest.mark.parametrize("field", [f.name for f in BASE_FIELDS])
def test_every_base_field_is_required(field: str) -> None:
    assert refused(without(event(), field)) == (Code.MISSING_FIELD, field)


@pytest.mark.parametrize(
    ("name", "field"),
    [(name, f.name) for name, e in EVENT_TYPES.items() for f in e.fields],
)
def test_every_type_field_is_required(name: str, field: str) -> None:
    assert refused(without(event(name), field)) == (Code.MISSING_FIELD, field)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", 123),
        ("user_id", None),
        ("timestamp", 1706638365),
        ("client_version", ["1.0"]),
        ("platform", {"web": True}),
        ("match_duration_sec", "312"),
        ("match_duration_sec", 312.0),
        ("match_duration_sec", True),
        ("result", 1),
    ],
)
def test_a_field_of_the_wrong_json_type_is_refused(field: str, value: Any) -> None:
    assert refused(event(**{field: value})) == (Code.WRONG_TYPE, field)


@pytest.mark.parametrize("value", ["false", 0, 1, None])
def test_booleans_must_be_json_booleans(value: Any) -> None:
    assert refused(event("session_start", is_new_user=value)) == (Code.WRONG_TYPE, "is_new_user")


@pytest.mark.parametrize("field", ["event_id", "user_id", "session_id", "match_id"])
@pytest.mark.parametrize(
    "value", ["uuid", "", "0f8fad5b-d9cb-469f-a165-70867728950", "0f8fad5bd9cb469fa16570867728950e"]
)
def test_identifiers_must_be_uuids(field: str, value: str) -> None:
    assert refused(event(**{field: value})) == (Code.INVALID_UUID, field)


def test_uppercase_uuids_are_uuids() -> None:
    assert validate_event(event(event_id="0F8FAD5B-D9CB-469F-A165-70867728950E")).accepted


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-30T18:12:45",  # no zone
        "2026-01-30 18:12:45Z",  # no T
        "2026-01-30",
        "2026-13-30T18:12:45Z",  # no month 13
        "2026-02-30T18:12:45Z",
        "2026-01-30T18:12:45+0100",
        "30/01/2026 18:12:45",
        "yesterday",
    ],
)
def test_timestamps_must_be_iso_8601_with_a_zone(value: str) -> None:
    assert refused(event(timestamp=value)) == (Code.INVALID_TIMESTAMP, "timestamp")


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-30T18:12:45Z",
        "2026-01-30T18:12:45.1Z",
        "2026-01-30T18:12:45.123Z",
        "2026-01-30T18:12:45.123456789Z",
        "2026-01-30T18:12:45+01:00",
        "2026-01-30T18:12:45.5-05:30",
    ],
)
def test_timestamps_with_a_zone_and_any_fraction_are_valid(value: str) -> None:
    assert validate_event(event(timestamp=value)).status == "valid"
    assert parse_timestamp(value) is not None


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("session_start", "entry_point", "menu"),
        ("match_played", "result", "draw"),
        ("match_played", "result", "WIN"),
        ("match_played", "opponent_type", "ai"),
        ("disconnect", "disconnect_reason", "timeout"),
        ("match_played", "platform", "ios"),
    ],
)
def test_enums_are_exactly_the_listed_values(name: str, field: str, value: str) -> None:
    assert refused(event(name, **{field: value})) == (Code.INVALID_VALUE, field)


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("match_played", "match_duration_sec", -1),
        ("match_played", "match_duration_sec", 86_401),  # a match longer than a day
        ("disconnect", "time_since_session_start_sec", -5),
        ("disconnect", "time_since_session_start_sec", 7 * 86_400 + 1),
    ],
)
def test_integers_are_non_negative_and_bounded(name: str, field: str, value: int) -> None:
    assert refused(event(name, **{field: value})) == (Code.OUT_OF_RANGE, field)


def test_integer_bounds_are_inclusive() -> None:
    assert validate_event(event(match_duration_sec=86_400)).status == "valid"
    assert validate_event(event(match_duration_sec=0)).status == "valid"


@pytest.mark.parametrize(("field", "limit"), [("client_version", 64), ("event_name", 64)])
def test_strings_are_bounded(field: str, limit: int) -> None:
    assert refused(event(**{field: "x" * (limit + 1)})) == (Code.STRING_TOO_LONG, field)


def test_an_event_over_32_kib_is_refused() -> None:
    e = event(padding="x" * MAX_EVENT_BYTES)
    assert refused(e) == (Code.EVENT_TOO_LARGE, None)
    just_fits = event()
    just_fits["padding"] = "x" * (MAX_EVENT_BYTES - len(orjson.dumps(just_fits)) - 13)
    assert len(orjson.dumps(just_fits)) == MAX_EVENT_BYTES
    assert validate_event(just_fits).status == "valid"


@pytest.mark.parametrize("value", [[], "event", 42, None])
def test_an_event_must_be_an_object(value: Any) -> None:
    assert refused(value) == (Code.NOT_AN_OBJECT, None)


def test_fields_the_spec_does_not_name_are_kept_and_not_an_error() -> None:
    e = event(country="FR", debug={"fps": 59.9})
    assert validate_event(e).status == "valid"


def test_an_unknown_event_name_with_valid_base_fields_is_unknown_not_refused() -> None:
    e = event("achievement_unlocked", achievement="first_blood")
    assert validate_event(e).status == "unknown"


def test_an_unknown_version_with_valid_base_fields_is_unknown_not_refused() -> None:
    e = event(event_version="v2", result="draw")  # v2 may have new results
    assert validate_event(e).status == "unknown"


def test_an_unknown_event_with_broken_base_fields_is_refused() -> None:
    assert refused(event("future_thing", user_id="me")) == (Code.INVALID_UUID, "user_id")


def test_the_first_failing_field_in_spec_order_is_reported() -> None:
    e = event(event_id="nope", platform="ios", result="draw")
    assert refused(e) == (Code.INVALID_UUID, "event_id")


# -- the fast path agrees with the rules ------------------------------------------------------


def reference(e: Any) -> Verdict:
    """The rules, stated plainly with `check_field`: what `validate_event` must decide."""
    if not isinstance(e, dict):
        return validate_event(e)
    if len(orjson.dumps(e)) > MAX_EVENT_BYTES:
        return validate_event(e)

    def first_failure(specs: Any) -> Failure | None:
        """The first field, in spec order, that is missing or breaks its rule."""
        failures = (
            check_field(spec, e[spec.name])
            if spec.name in e
            else Failure(Code.MISSING_FIELD, spec.name, f"{spec.name} is required")
            for spec in specs
        )
        return next((f for f in failures if f is not None), None)

    failure = first_failure(BASE_FIELDS)
    if failure is not None:
        return Verdict("rejected", failure)
    etype = EVENT_TYPES.get(e["event_name"])
    if etype is None or e["event_version"] != "v1":
        return Verdict("unknown")
    failure = first_failure(etype.fields)
    return Verdict("rejected", failure) if failure else Verdict("valid")


tricky_strings = st.one_of(
    st.sampled_from(
        [
            "",
            "v1",
            "v2",
            "web",
            "win",
            "bot",
            "lobby",
            "quit",
            "session_start",
            "match_played",
            "disconnect",
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "0F8FAD5B-D9CB-469F-A165-70867728950E",
            "0f8fad5b-d9cb-469f-a165-70867728950e\n",
            "0f8fad5b-d9cb-469f-a165-70867728950\ne",
            "2026-01-30T18:12:45Z",
            "2026-01-30T18:12:45.123456789+01:00",
            "2026-01-30T18:12:45.1234567890Z",
            "2026-01-30T18:12:45,123Z",
            "2026-01-30T18:12:45z",
            "2026-01-30T24:00:00Z",
            "2026-01-30T18:12:45+24:00",
            "2026-01-30T18:12:45.Z",
            "2026-01-30T18:12:4\u0665Z",
            "x" * 129,
        ]
    ),
    st.from_regex(
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{0,10})?(Z|[+-]\d{2}:?\d{2}|)", fullmatch=True
    ),
    st.from_regex(
        r"[0-9a-fA-Fg\-]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{11,13}", fullmatch=True
    ),
    st.text(max_size=40),
)
json_values = st.one_of(
    tricky_strings,
    st.integers(min_value=-10, max_value=700_000),
    st.sampled_from([0, 86_400, 86_401, 604_800, 604_801, 2**63]),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=2),
)


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    e = event(draw(st.sampled_from([*EVENT_TYPES, "unknown_event"])))
    names = sorted({*e, "match_id", "is_new_user", "disconnect_reason", "event_version"})
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(names))
        if draw(st.booleans()) and name in e:
            del e[name]
        else:
            e[name] = draw(json_values)
    return e


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_events())
def test_validate_event_decides_exactly_as_the_stated_rules(e: dict[str, Any]) -> None:
    assert validate_event(e) == reference(e)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(mutated_events(), json_values), max_size=12))
def test_validating_a_batch_decides_as_validating_each_event(events: list[Any]) -> None:
    sizes = [len(orjson.dumps(e)) for e in events]
    assert validate_events(events, sizes) == [
        validate_event(e, n) for e, n in zip(events, sizes, strict=True)
    ]


def test_validating_a_batch_reports_each_refusal_at_its_place() -> None:
    events = [event(), event(user_id="x"), event("session_start"), event(), "no", event("new")]
    sizes = [len(orjson.dumps(e)) for e in events]
    assert [v.status for v in validate_events(events, sizes)] == [
        "valid", "rejected", "valid", "valid", "rejected", "unknown",
    ]  # fmt: skip
    assert validate_events([event()], [MAX_EVENT_BYTES + 1])[0].failure.code == "event_too_large"  # type: ignore[union-attr]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=0, max_value=39),
    st.one_of(
        st.sampled_from(
            [
                "2026-02-30T18:12:45Z",  # no such day
                "2026-01-30T18:12:45Z\n2026-01-30T18:12:45Z",  # two timestamps in one
                "2026-01-30T24:00:00Z",
                "2026-01-30T18:12:45.123456789+01:00",  # valid: more digits than datetime reads
                "2026-01-30T18:12:45",  # no zone
            ]
        ),
        json_values,
    ),
)
def test_a_batch_checks_its_timestamps_together_as_each_event_alone(i: int, stamp: Any) -> None:
    events = [event(name) for name in sorted(EVENT_TYPES) for _ in range(14)][:40]
    events[i]["timestamp"] = stamp
    sizes = [len(orjson.dumps(e)) for e in events]
    assert validate_events(events, sizes) == [
        validate_event(e, n) for e, n in zip(events, sizes, strict=True)
    ]
