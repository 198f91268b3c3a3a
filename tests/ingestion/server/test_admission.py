"""Who may connect and how much they may send: token, origins, connection, size, batch and
rate limits. Every refusal is explicit: an HTTP status, a close code or an error reply."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from ingestion.server.limits import MAX_BATCH_EVENTS, MAX_FRAME_BYTES
from tests.ingestion.helpers import batch, dumps, event, landed, metric, open_client
from tests.support.ingestor import Ingestor, http_get, running_ingestor

TOKEN = "s3cret-token-for-tests"
ORIGIN = "https://play.example.test"
RATE, BURST = 500, 1_000  # slow refill: a slow machine still sees the limit


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingestor]:
    with running_ingestor(
        tmp_path_factory.mktemp("guarded"),
        token=TOKEN,
        allowed_origins=[ORIGIN],
        extra_args=[
            "--max-connections", "4",
            "--rate-limit", str(RATE),
            "--rate-burst", str(BURST),
        ],
    ) as ingestor:  # fmt: skip
        yield ingestor


def status_of(url: str, **kwargs: object) -> int:
    with pytest.raises(InvalidStatus) as refused:
        open_client(url, **kwargs)
    return refused.value.response.status_code


def test_a_connection_without_the_token_is_refused_401_before_the_upgrade(
    guarded: Ingestor,
) -> None:
    assert status_of(guarded.url) == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer "},
    ],
)
def test_a_wrong_token_is_refused_401(guarded: Ingestor, headers: dict[str, str]) -> None:
    assert status_of(guarded.url, additional_headers=headers) == 401


def test_a_wrong_token_in_the_query_is_refused_401(guarded: Ingestor) -> None:
    assert status_of(f"{guarded.url}?token=nope") == 401


def test_the_token_in_the_authorization_header_is_accepted(guarded: Ingestor) -> None:
    c = open_client(guarded.url, additional_headers=guarded.auth_headers)
    assert c.call(event())["accepted"] == 1
    c.close()


def test_the_token_in_the_query_string_is_accepted_for_browsers(guarded: Ingestor) -> None:
    c = open_client(guarded.url_with_token, origin=ORIGIN)
    assert c.call(event())["accepted"] == 1
    c.close()


def test_an_origin_not_allowed_is_refused_403(guarded: Ingestor) -> None:
    assert status_of(guarded.url_with_token, origin="https://evil.example.test") == 403


def test_refused_handshakes_are_counted_by_status(guarded: Ingestor) -> None:
    before = guarded.metrics()
    status_of(guarded.url)
    after = guarded.metrics()
    name = 'respawn_connections_refused_total{status="401"}'
    assert metric(after, name) == metric(before, name) + 1


@pytest.mark.parametrize(
    "headers",
    [
        [("Authorization", f"Bearer {TOKEN}"), ("Authorization", f"Bearer {TOKEN}")],
        [("Authorization", f"Bearer {TOKEN}"), ("Origin", ORIGIN), ("Origin", ORIGIN)],
    ],
    ids=["authorization", "origin"],
)
def test_a_header_given_twice_is_refused_400_and_counted(
    guarded: Ingestor, headers: list[tuple[str, str]]
) -> None:
    name = 'respawn_connections_refused_total{status="400"}'
    before = metric(guarded.metrics(), name)
    assert status_of(guarded.url, additional_headers=headers) == 400
    assert metric(guarded.metrics(), name) == before + 1
    assert guarded.running


def test_healthz_and_metrics_need_no_token(guarded: Ingestor) -> None:
    assert guarded.healthz() == 200
    assert http_get(f"{guarded.http_url}/metrics")[0] == 200


def test_connections_over_the_limit_are_refused_503(guarded: Ingestor) -> None:
    clients = [open_client(guarded.url_with_token) for _ in range(4)]
    try:
        assert status_of(guarded.url_with_token) == 503
    finally:
        for c in clients:
            c.close()
    time.sleep(0.2)
    c = open_client(guarded.url_with_token)
    assert c.call(event())["accepted"] == 1
    c.close()


def test_a_frame_over_1_mib_closes_the_connection_with_1009(guarded: Ingestor) -> None:
    c = open_client(guarded.url_with_token)
    c.send("x" * (MAX_FRAME_BYTES + 1))
    with pytest.raises(ConnectionClosedError) as closed:
        c.reply()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_a_frame_just_under_1_mib_is_read(guarded: Ingestor) -> None:
    frame = dumps(event(pad="x" * 1000))
    c = open_client(guarded.url_with_token)
    padded = frame + " " * (MAX_FRAME_BYTES - len(frame))  # JSON allows trailing whitespace
    assert c.call(padded)["type"] == "ack"
    c.close()


def test_a_batch_over_500_events_is_refused_with_batch_too_large(guarded: Ingestor) -> None:
    c = open_client(guarded.url_with_token)
    reply = c.call(batch([event() for _ in range(MAX_BATCH_EVENTS + 1)], batch_id="huge"))
    assert reply["type"] == "error" and reply["code"] == "batch_too_large"
    assert reply["batch_id"] == "huge"
    c.close()


def test_a_connection_over_its_event_rate_gets_rate_limited_replies_never_silence(
    guarded: Ingestor,
) -> None:
    c = open_client(guarded.url_with_token)
    frames = [batch([event() for _ in range(250)], batch_id=f"r-{i}") for i in range(8)]
    replies = c.pipeline(frames)
    assert len(replies) == len(frames)  # every frame answered
    acked = [f for f, r in zip(frames, replies, strict=True) if r["type"] == "ack"]
    limited = [r for r in replies if r["type"] == "error"]
    assert limited and all(r["code"] == "rate_limited" for r in limited)
    assert "resend" in limited[0]["message"]
    # The burst, plus what the rate refilled meanwhile, was admitted; the rest was not stored.
    assert BURST <= 250 * len(acked) < 250 * len(frames)
    rows = landed(guarded.landing_root)
    for f, r in zip(frames, replies, strict=True):
        stored = [e["event_id"] in rows for e in f["events"]]
        assert all(stored) if r["type"] == "ack" else not any(stored)
    time.sleep(250 / RATE + 0.05)  # the bucket refills: the client may resend
    assert c.call(frames[-1])["accepted"] == 250
    c.close()


def test_the_rate_limit_is_per_connection(guarded: Ingestor) -> None:
    a = open_client(guarded.url_with_token)
    b = open_client(guarded.url_with_token)
    burst = [batch([event() for _ in range(MAX_BATCH_EVENTS)]) for _ in range(BURST // 500)]
    assert all(r["type"] == "ack" for r in a.pipeline(burst))
    assert all(r["type"] == "ack" for r in b.pipeline(burst))  # a's use is not b's
    a.close()
    b.close()


def test_a_token_file_that_is_missing_stops_the_server_with_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "serve", "--port", "0", "--data-dir",
         str(tmp_path), "--token-file", str(tmp_path / "absent")],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[3],
    )  # fmt: skip
    assert result.returncode == 2
    assert "cannot read the token file" in result.stderr
