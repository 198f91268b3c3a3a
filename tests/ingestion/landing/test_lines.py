"""The landed-line format: the encoder and a frame's lines are byte for byte the documented lines,
and the column spec the readers use names exactly their fields."""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.contract import Code, Failure, Verdict
from ingestion.landing.lines import (
    DEADLETTER_LINE_COLUMNS,
    EVENT_LINE_COLUMNS,
    LINE_END,
    LineEncoder,
    LogicalType,
    deadletter_line,
    event_line,
    frame_lines,
)

text = st.text(max_size=20)
json_scalars = st.one_of(text, st.integers(-(2**40), 2**40), st.booleans(), st.none())
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=10,
)
payloads = st.dictionaries(text, json_values, max_size=5)
maybe_text = st.one_of(st.none(), text)
indices = st.one_of(st.none(), st.integers(0, 499))
failures = st.builds(Failure, st.sampled_from(list(Code)), maybe_text, st.text(max_size=40))


class Server(NamedTuple):
    """The server's fields of a frame's lines, in the order the line functions take them."""

    received_at: str
    connection_id: str
    sent_at: str | None
    batch_id: str | None


servers = st.builds(Server, text, text, maybe_text, maybe_text)


# -- the frame encoder writes the same bytes as the line functions ---------------------------


@settings(max_examples=150, deadline=None)
@given(
    server=servers,
    payload=payloads,
    status=st.sampled_from(["valid", "unknown"]),
    index=indices,
)
def test_the_frame_line_encoder_writes_exactly_the_documented_lines(
    server: Server, payload: dict, status: str, index: int | None
) -> None:
    received_at, connection_id, sent_at, batch_id = server
    encoder = LineEncoder(*server)
    expected = event_line(payload, received_at, connection_id, status, sent_at, batch_id)
    assert encoder.prefix(status) + orjson.dumps(payload) + LINE_END == expected
    failure = Failure(Code.INVALID_UUID, "user_id", "user_id must be a UUID")
    raw = orjson.dumps(payload).decode()
    assert encoder.deadletter(raw, failure, index) == deadletter_line(
        raw, failure, received_at, connection_id, sent_at, batch_id, index
    )


verdicts = st.one_of(
    st.just(Verdict("valid")),
    st.just(Verdict("unknown")),
    failures.map(lambda failure: Verdict("rejected", failure)),
)


@settings(max_examples=200, deadline=None)
@given(server=servers, judged=st.lists(st.tuples(payloads, verdicts), max_size=8))
def test_a_frames_lines_are_its_events_lines_in_order_and_its_refusals_dead_lettered(
    server: Server, judged: list[tuple[dict, Verdict]]
) -> None:
    """What the ingestor and the simulator land for a frame: each accepted event's `event_line`,
    each refused one's `deadletter_line` with its index, both in the frame's order."""
    received_at, connection_id, sent_at, batch_id = server
    texts = [orjson.dumps(event) for event, _ in judged]
    lines = frame_lines(texts, [v for _, v in judged], *server)
    assert lines.events == b"".join(
        event_line(event, received_at, connection_id, verdict.status, sent_at, batch_id)
        for event, verdict in judged
        if verdict.accepted
    )
    assert lines.deadletter == b"".join(
        deadletter_line(text.decode(), v.failure, *server, index)
        for index, (text, (_, v)) in enumerate(zip(texts, judged, strict=True))
        if v.failure is not None
    )
    assert list(lines.rejected) == [
        (index, v.failure) for index, (_, v) in enumerate(judged) if v.failure is not None
    ]
    assert lines.valid == sum(v.status == "valid" for _, v in judged)
    assert lines.unknown == sum(v.status == "unknown" for _, v in judged)


def test_a_frame_without_events_has_no_lines() -> None:
    lines = frame_lines([], [], "2026-01-30T12:15:00.000000Z", "c-1")
    assert (lines.events, lines.deadletter, lines.valid, lines.unknown) == (b"", b"", 0, 0)


# -- the column spec names exactly the fields of the lines -----------------------------------


def conforms(value: Any, logical: LogicalType) -> bool:
    """Whether a decoded JSON value is of the logical type (every column may be null)."""
    if value is None or logical == "json":
        return True
    if logical == "string":
        return isinstance(value, str)
    if logical == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    assert not isinstance(logical, str), logical
    return (
        isinstance(value, dict)
        and list(value) == list(logical)
        and all(conforms(value[name], t) for name, t in logical.items())
    )


@settings(max_examples=100, deadline=None)
@given(
    server=servers,
    recovered=st.booleans(),  # recovery writes dead letters without a connection
    payload=payloads,
    failure=failures,
    index=indices,
)
def test_every_line_has_exactly_the_columns_of_its_kind_in_order_and_of_their_types(
    server: Server, recovered: bool, payload: dict, failure: Failure, index: int | None
) -> None:
    received_at, connection_id, sent_at, batch_id = server
    event = orjson.loads(
        event_line(payload, received_at, connection_id, "valid", sent_at, batch_id)
    )
    dead = orjson.loads(
        deadletter_line(
            "raw", failure, received_at, None if recovered else connection_id, sent_at, batch_id,
            index,
        )
    )  # fmt: skip
    for line, columns in ((event, EVENT_LINE_COLUMNS), (dead, DEADLETTER_LINE_COLUMNS)):
        assert list(line) == list(columns)
        assert all(conforms(line[name], t) for name, t in columns.items()), line


def test_the_columns_name_the_documented_fields() -> None:
    server = ["received_at", "sent_at", "batch_id", "connection_id"]
    assert list(EVENT_LINE_COLUMNS) == [*server, "status", "event"]
    assert list(DEADLETTER_LINE_COLUMNS) == [
        *server, "index", "failure", "raw", "raw_encoding", "raw_bytes", "raw_sha256"
    ]  # fmt: skip
    assert DEADLETTER_LINE_COLUMNS["failure"] == {
        "code": "string",
        "field": "string",
        "message": "string",
    }
