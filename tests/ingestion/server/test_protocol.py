"""The wire protocol against a real `respawn serve` and a real websockets client."""

from __future__ import annotations

import re
import threading
from typing import Any

import orjson
import pytest

from ingestion.contract import MAX_EVENT_BYTES
from ingestion.landing.layout import parse_shard_name
from ingestion.server.limits import MAX_BATCH_EVENTS
from tests.ingestion.helpers import (
    Client,
    batch,
    deadlettered,
    dumps,
    event,
    landed,
    metric,
    open_client,
    without,
)
from tests.support.ingestor import Ingestor

SERVER_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def test_a_single_event_is_acknowledged_and_lands_with_what_the_server_knows(
    server: Ingestor, client: Client
) -> None:
    e = event()
    assert client.call(e) == {"type": "ack", "batch_id": None, "accepted": 1, "rejected": []}
    line = landed(server.landing_root)[e["event_id"]]
    assert line["event"] == e
    assert line["status"] == "valid"
    assert SERVER_TS.fullmatch(line["received_at"])
    assert line["sent_at"] is None and line["batch_id"] is None
    assert line["connection_id"]


def test_a_batch_is_acknowledged_once_and_every_event_lands_with_the_envelope(
    server: Ingestor, client: Client
) -> None:
    events = [event(name) for name in ("session_start", "match_played", "disconnect")]
    frame = batch(events, batch_id="batch-42", sent_at="2026-01-30T19:12:46.25+01:00")
    assert client.call(frame) == {
        "type": "ack",
        "batch_id": "batch-42",
        "accepted": 3,
        "rejected": [],
    }
    rows = landed(server.landing_root)
    lines = [rows[e["event_id"]] for e in events]
    assert [x["event"] for x in lines] == events
    assert {x["batch_id"] for x in lines} == {"batch-42"}
    assert {x["sent_at"] for x in lines} == {"2026-01-30T18:12:46.250000Z"}
    assert len({x["received_at"] for x in lines}) == 1


def test_an_empty_batch_is_acknowledged(client: Client) -> None:
    assert client.call(batch([], batch_id="empty"))["accepted"] == 0


def test_the_ack_means_the_lines_are_already_written(server: Ingestor) -> None:
    """No sleep, no shutdown: the moment the ack arrives the line is in a shard file."""
    c = open_client(server.url)
    try:
        for _ in range(20):
            e = event()
            assert c.call(e)["accepted"] == 1
            assert e["event_id"] in landed(server.landing_root)
    finally:
        c.close()


EVENT_REFUSALS: list[tuple[str, dict[str, Any] | Any, str | None]] = [
    ("missing_field", without(event(), "session_id"), "session_id"),
    ("wrong_type", event(match_duration_sec="312"), "match_duration_sec"),
    ("invalid_uuid", event(user_id="player-1"), "user_id"),
    ("invalid_timestamp", event(timestamp="2026-01-30 18:12:45"), "timestamp"),
    ("invalid_value", event(opponent_type="alien"), "opponent_type"),
    ("out_of_range", event(match_duration_sec=86_401), "match_duration_sec"),
    ("string_too_long", event(client_version="9" * 65), "client_version"),
    ("event_too_large", event(blob="x" * MAX_EVENT_BYTES), None),
    ("not_an_object", ["not", "an", "event"], None),
]


@pytest.mark.parametrize(
    ("code", "bad", "field"), EVENT_REFUSALS, ids=[r[0] for r in EVENT_REFUSALS]
)
def test_every_event_refusal_is_acked_with_its_code_and_dead_lettered(
    server: Ingestor, client: Client, code: str, bad: Any, field: str | None
) -> None:
    frame_id = f"refusal-{code}"
    reply = client.call(batch([bad], batch_id=frame_id))
    assert reply["accepted"] == 0
    (rejected,) = reply["rejected"]
    assert (rejected["index"], rejected["code"], rejected["field"]) == (0, code, field)
    assert rejected["message"]
    if isinstance(bad, dict):
        assert rejected["event_id"] == bad["event_id"]
    (dead,) = [d for d in deadlettered(server.landing_root) if d["batch_id"] == frame_id]
    assert dead["failure"] == {k: rejected[k] for k in ("code", "field", "message")}
    assert orjson.loads(dead["raw"]) == bad
    assert dead["index"] == 0


def test_a_single_event_frame_that_is_refused_is_acked_with_index_0(client: Client) -> None:
    bad = event(platform="ios")
    reply = client.call(bad)
    assert reply["batch_id"] is None and reply["accepted"] == 0
    assert reply["rejected"][0] | {"message": ""} == {
        "index": 0,
        "event_id": bad["event_id"],
        "code": "invalid_value",
        "field": "platform",
        "message": "",
    }


FRAME_REFUSALS = [
    ("invalid_json", '{"event_name": "match_played",'),
    ("frame_not_object", dumps([event(), event()])),
    ("invalid_envelope", dumps({"batch_id": "env", "events": "all of them"})),
    ("batch_too_large", dumps(batch([event()] * (MAX_BATCH_EVENTS + 1), batch_id="big"))),
]


@pytest.mark.parametrize(("code", "raw"), FRAME_REFUSALS, ids=[r[0] for r in FRAME_REFUSALS])
def test_every_frame_refusal_gets_an_error_the_raw_text_is_kept_and_the_connection_stays_open(
    server: Ingestor, client: Client, code: str, raw: str
) -> None:
    reply = client.call(raw)
    assert reply["type"] == "error" and reply["code"] == code and reply["message"]
    assert any(
        d["raw"] == raw and d["failure"]["code"] == code and d["index"] is None
        for d in deadlettered(server.landing_root)
    )
    assert client.call(event())["accepted"] == 1  # still open


def test_a_mixed_batch_lands_the_valid_dead_letters_the_invalid_and_the_ack_says_which(
    server: Ingestor, client: Client
) -> None:
    events = [event() for _ in range(6)]
    events[1]["result"] = "draw"
    events[4] = without(events[4], "timestamp")
    reply = client.call(batch(events, batch_id="mixed"))
    assert reply["accepted"] == 4
    assert [(r["index"], r["code"]) for r in reply["rejected"]] == [
        (1, "invalid_value"),
        (4, "missing_field"),
    ]
    rows = landed(server.landing_root)
    assert [e["event_id"] in rows for e in events] == [True, False, True, True, False, True]
    dead = [d for d in deadlettered(server.landing_root) if d["batch_id"] == "mixed"]
    assert sorted(d["index"] for d in dead) == [1, 4]


def test_unknown_fields_are_kept_verbatim(server: Ingestor, client: Client) -> None:
    e = event(country="FR", perf={"fps": [59.9, 60], "gpu": None}, tags=["beta"], big=2**53)
    client.call(e)
    line = landed(server.landing_root)[e["event_id"]]
    assert line["event"] == e and line["status"] == "valid"


# Numbers that a double cannot hold, as a client may send them in fields we do not know.
EXACT_NUMBERS = (
    '"big":123456789012345678901234567890,"neg":-98765432109876543210987,'
    '"precise":0.1000000000000000055511151231257827,"fixed":1.50,"tiny":1E-7,"zero":-0.0'
)


def shard_texts(server: Ingestor) -> bytes:
    root = server.landing_root / "events"
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


@pytest.mark.parametrize("in_batch", [False, True], ids=["single", "batch"])
def test_unknown_numbers_land_exactly_as_the_client_wrote_them(
    server: Ingestor, client: Client, in_batch: bool
) -> None:
    text = dumps(event())[:-1] + "," + EXACT_NUMBERS + "}"
    frame = f'{{"batch_id":"exact","events":[{text}, {text.replace("-0.0", "2")}]}}'
    assert client.call(frame if in_batch else text)["accepted"] == (2 if in_batch else 1)
    assert b'"event":' + text.encode() + b"}\n" in shard_texts(server)


def test_an_integer_too_big_for_a_contract_field_is_out_of_range_not_a_wrong_type(
    client: Client,
) -> None:
    text = dumps(event())[:-1].replace(
        '"match_duration_sec":312', '"match_duration_sec":1' + "0" * 30
    )
    reply = client.call(text + "}")
    assert [(r["code"], r["field"]) for r in reply["rejected"]] == [
        ("out_of_range", "match_duration_sec")
    ]


def test_unknown_event_names_and_versions_land_marked_unknown(
    server: Ingestor, client: Client
) -> None:
    future = event("achievement_unlocked", achievement="first_blood")
    newer = event(event_version="v2", result="draw", replay_url="https://example.test/r/1")
    reply = client.call(batch([future, newer]))
    assert reply["accepted"] == 2 and reply["rejected"] == []
    rows = landed(server.landing_root)
    assert rows[future["event_id"]]["status"] == "unknown"
    assert rows[future["event_id"]]["event"] == future
    assert rows[newer["event_id"]]["event"] == newer


def test_pipelined_frames_are_answered_in_order(client: Client) -> None:
    frames: list[Any] = []
    for i in range(150):
        if i % 7 == 3:
            frames.append("{broken")
        elif i % 5 == 0:
            frames.append(event())
        else:
            frames.append(batch([event() for _ in range(i % 4)], batch_id=f"p-{i}"))
    replies = client.pipeline(frames)
    for i, (frame, reply) in enumerate(zip(frames, replies, strict=True)):
        if frame == "{broken":
            assert reply["type"] == "error", i
        elif "events" in frame:
            assert reply["batch_id"] == f"p-{i}" and reply["accepted"] == len(frame["events"])
        else:
            assert reply["batch_id"] is None and reply["accepted"] == 1


def test_a_binary_frame_of_json_is_read_like_a_text_frame(client: Client) -> None:
    assert client.call(dumps(event()).encode())["accepted"] == 1


def test_connections_in_parallel_each_get_their_own_acks_and_group_commits_share_fsyncs(
    server: Ingestor,
) -> None:
    before = server.metrics()
    ids: list[list[str]] = [[] for _ in range(6)]
    errors: list[BaseException] = []

    def stream(k: int) -> None:
        try:
            c = open_client(server.url)
            frames = [batch([event() for _ in range(5)], batch_id=f"{k}-{i}") for i in range(40)]
            replies = c.pipeline(frames)
            assert all(r["accepted"] == 5 for r in replies)
            ids[k] = [e["event_id"] for f in frames for e in f["events"]]
            c.close()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=stream, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    rows = landed(server.landing_root)
    assert all(i in rows for per in ids for i in per)
    assert len({rows[per[0]]["connection_id"] for per in ids}) == 6
    after = server.metrics()
    commits = metric(after, "respawn_commits_total") - metric(before, "respawn_commits_total")
    frames = metric(after, 'respawn_frames_total{kind="batch"}') - metric(
        before, 'respawn_frames_total{kind="batch"}'
    )
    assert frames == 240
    assert 0 < commits < frames  # several frames per fsync


def test_metrics_count_events_frames_refusals_bytes_and_latency(server: Ingestor) -> None:
    before = server.metrics()
    c = open_client(server.url)
    frames = [
        batch([event(), event("new_kind"), event(result="tie")]),
        event(),
        "nope",
    ]
    c.pipeline(frames)
    open_now = metric(server.metrics(), "respawn_connections_open")
    c.close()
    after = server.metrics()

    def delta(name: str) -> float:
        return metric(after, name) - metric(before, name)

    assert delta('respawn_events_accepted_total{status="valid"}') == 2
    assert delta('respawn_events_accepted_total{status="unknown"}') == 1
    assert delta('respawn_events_refused_total{code="invalid_value"}') == 1
    assert delta('respawn_frames_total{kind="batch"}') == 1
    assert delta('respawn_frames_total{kind="event"}') == 1
    assert delta('respawn_frames_refused_total{code="invalid_json"}') == 1
    sizes = sum(len(f if isinstance(f, str) else dumps(f)) for f in frames)
    assert delta("respawn_received_bytes_total") == sizes
    assert delta("respawn_ack_latency_seconds_count") == 3
    assert delta("respawn_connections_total") == 1
    assert open_now >= 1
    assert "# TYPE respawn_ack_latency_seconds histogram" in after


def test_healthz_is_200_while_the_landing_directory_is_writable(server: Ingestor) -> None:
    assert server.healthz() == 200


def test_shards_are_named_for_this_node_and_process(server: Ingestor, client: Client) -> None:
    client.call(event())
    inflight = sorted(server.landing_root.glob("events/dt=*/hour=*/.*.inflight"))
    assert inflight, "an acknowledged event is in an in-flight shard until it is published"
    name = parse_shard_name(inflight[0].name)
    assert name is not None and name.pid == server.pid
