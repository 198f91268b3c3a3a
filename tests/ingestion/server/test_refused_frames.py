"""Refused frames cost the connection too: they take their share of its event rate and of its
dead-letter budget (past it the connection is closed with 1008), and dead-letter keeps what was
refused byte for byte, only a bounded prefix of an oversized text (with its length and hash)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed

from ingestion.landing.lines import MAX_RAW_BYTES, raw_bytes
from tests.ingestion.helpers import deadlettered, event, open_client
from tests.support.ingestor import Ingestor, running_ingestor

RATE, BURST = 500, 1_000
DEADLETTER_RATE, DEADLETTER_BURST = 1_024, 200_000


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingestor]:
    """A slow event rate; the default dead-letter budget."""
    extra = ["--rate-limit", str(RATE), "--rate-burst", str(BURST)]
    with running_ingestor(tmp_path_factory.mktemp("rate"), extra_args=extra) as ingestor:
        yield ingestor


@pytest.fixture(scope="module")
def budgeted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingestor]:
    """No event rate limit; a small dead-letter budget."""
    extra = [
        "--rate-limit", "0",
        "--deadletter-rate", str(DEADLETTER_RATE),
        "--deadletter-burst", str(DEADLETTER_BURST),
    ]  # fmt: skip
    with running_ingestor(tmp_path_factory.mktemp("budget"), extra_args=extra) as ingestor:
        yield ingestor


def test_frames_refused_as_a_whole_take_their_share_of_the_rate_limit(limited: Ingestor) -> None:
    c = open_client(limited.url)
    replies = c.pipeline(["not json"] * (BURST + 500))
    codes = [r["code"] for r in replies]
    assert codes.count("invalid_json") >= BURST - 100  # the burst, about, then the rate
    assert "rate_limited" in codes
    # A rate-limited refusal is the client's to resend: nothing of it is stored.
    dead = [d for d in deadlettered(limited.landing_root) if d["raw"] == "not json"]
    assert len(dead) == codes.count("invalid_json")
    c.close()


def test_a_connection_past_its_dead_letter_budget_is_closed_with_1008(budgeted: Ingestor) -> None:
    c = open_client(budgeted.url)
    garbage = "#" * 20_000
    answered = 0
    with pytest.raises(ConnectionClosed) as closed:
        for _ in range(100):
            assert c.call(garbage)["code"] == "invalid_json"
            answered += 1
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "dead-letter" in closed.value.rcvd.reason
    assert 0 < answered < 100
    kept = sum(d["raw_bytes"] for d in deadlettered(budgeted.landing_root) if d["raw"] == garbage)
    assert kept <= DEADLETTER_BURST + 3 * len(garbage)  # the burst, a little refill
    assert budgeted.running
    other = open_client(budgeted.url)  # the budget is the connection's, not the server's
    assert other.call(event())["accepted"] == 1
    other.close()


def test_an_oversized_refused_text_keeps_a_prefix_its_length_and_its_hash(
    limited: Ingestor,
) -> None:
    text = "é" + "x" * 900_000 + " not json"
    c = open_client(limited.url)
    assert c.call(text)["code"] == "invalid_json"
    c.close()
    (dead,) = [d for d in deadlettered(limited.landing_root) if d["raw"].startswith("éxxx")]
    data = text.encode()
    assert dead["raw_bytes"] == len(data)
    assert dead["raw_sha256"] == hashlib.sha256(data).hexdigest()
    assert len(raw_bytes(dead)) <= MAX_RAW_BYTES and data.startswith(raw_bytes(dead))


def test_refused_bytes_that_are_not_utf8_are_kept_exactly_in_base64(limited: Ingestor) -> None:
    frame = b'\xff\xfe{"event_name": "match_played"\x80\xc3'
    c = open_client(limited.url)
    assert c.call(frame)["code"] == "invalid_json"  # a binary frame: any bytes may come
    c.close()
    (dead,) = [
        d
        for d in deadlettered(limited.landing_root)
        if d.get("raw_encoding") == "base64" and raw_bytes(d) == frame
    ]
    assert dead["raw_bytes"] == len(frame)
