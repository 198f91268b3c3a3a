"""The browser client against a real `respawn serve`: what it emits lands, an ack empties the
queue, and nothing the page emitted is lost to a killed server, a reload while offline or a
refusal (which is reported once and never re-sent)."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from ingestion.contract import parse_timestamp, validate_event
from tests.ingestion.client.harness import (
    client_options,
    deadlettered,
    js,
    landed,
    landed_ids,
    open_harness,
)
from tests.support.cdp import Page
from tests.support.ingestor import free_port, running_ingestor

pytestmark = pytest.mark.browser

# The statements of a short session; `events` holds what the methods returned.
PLAY = """
    const events = [client.sessionStart({ isNewUser: true, entryPoint: "invite" })];
    events.push(client.matchPlayed(
        { matchDurationSec: 312, result: "disconnect", opponentType: "human" }));
    events.push(client.matchPlayed({ matchDurationSec: 95, result: "win", opponentType: "bot" }));
    events.push(client.disconnect({ disconnectReason: "network" }));
"""
# A game loop: one match every 15 ms until `n` events were emitted; ids in window.emitted.
GAME_LOOP = """((n) => {
    window.emitted = [client.sessionStart({ isNewUser: false, entryPoint: "lobby" }).event_id];
    window.loop = setInterval(() => {
        if (emitted.length >= n) return clearInterval(loop);
        emitted.push(client.matchPlayed(
            { matchDurationSec: 60, result: "loss", opponentType: "bot" }).event_id);
    }, 15);
    return true;
})"""


def assert_one_frame_in_flight_per_batch_id(page: Page) -> None:
    """On one connection, a batch is sent once; it goes again only on a new connection."""
    sends = Counter((f["socket"], f["batch_id"]) for f in page.evaluate("log.frames"))
    assert sends and max(sends.values()) == 1, sends.most_common(3)


def test_events_land_with_the_fields_the_server_expects(
    page: Page, site: str, tmp_path: Path
) -> None:
    with running_ingestor(tmp_path, allowed_origins=[site]) as ing:
        open_harness(page, site, client_options(ing.url))
        events = page.evaluate(f"(() => {{ {PLAY} return events; }})()")
        assert page.evaluate("client.flush({ timeoutMs: 10000 })") is True
        lines = landed(ing)
    by_id = {line["event"]["event_id"]: line for line in lines}
    assert sorted(by_id) == sorted(e["event_id"] for e in events)
    for event in events:
        line = by_id[event["event_id"]]
        assert line["event"] == event, "the server lands the event exactly as the client built it"
        assert line["status"] == "valid" and validate_event(event).status == "valid"
        assert line["batch_id"] and parse_timestamp(line["sent_at"]) is not None
        assert parse_timestamp(event["timestamp"]) is not None
        assert (event["event_version"], event["platform"]) == ("v1", "web")
    names = [e["event_name"] for e in events]
    assert names == ["session_start", "match_played", "match_played", "disconnect"]
    assert len({e["session_id"] for e in events}) == 1, "sessionStart's session_id is reused"
    assert events[-1]["time_since_session_start_sec"] >= 0


def test_a_batch_is_acked_and_leaves_the_queue(page: Page, site: str, tmp_path: Path) -> None:
    with running_ingestor(tmp_path, allowed_origins=[site]) as ing:
        open_harness(page, site, client_options(ing.url, batchSize=3, batchMaxAgeMs=300))
        page.wait_for("client.state === 'open'")
        # three events fill a batch, which goes at once; the fourth waits for its batch's age
        # (`await null` lets the queue's end-of-task write happen; no ack can come in between)
        queued = page.evaluate(
            f"""(async () => {{ {PLAY}
            window.lastQueuedAt = performance.now();
            await null;
            return {{ frames: log.frames.length, pending: client.pendingCount,
                      stored: storedEvents().length }}; }})()"""
        )
        assert queued == {"frames": 1, "pending": 4, "stored": 4}
        page.wait_for("log.acks.length === 1")
        first = page.evaluate(
            "({ ack: log.acks[0], frame: log.frames[0], stored: storedEvents() })"
        )
        assert first["ack"]["batch_id"] == first["frame"]["batch_id"]
        assert first["ack"]["accepted"] == 3 and first["ack"]["rejected"] == []
        assert first["ack"]["event_ids"] == [e["event_id"] for e in first["frame"]["events"]]
        assert len(first["stored"]) == 1, "the acked batch left the stored queue; the 4th is there"
        page.wait_for("log.acks.length === 2 && client.pendingCount === 0")
        aged = page.evaluate("log.frames[1].at - lastQueuedAt")
        assert aged >= 299, "a lone event goes when its batch is batchMaxAgeMs old, not before"
        assert page.evaluate("storedEvents()") == []
        assert_one_frame_in_flight_per_batch_id(page)
        ids = landed_ids(ing)
    assert len(ids) == 4 == len(set(ids))


def test_every_event_lands_when_the_server_is_killed_and_restarted_mid_session(
    page: Page, site: str, tmp_path: Path
) -> None:
    n = 150
    with running_ingestor(tmp_path, allowed_origins=[site]) as ing:
        open_harness(page, site, client_options(ing.url, batchSize=4, batchMaxAgeMs=40))
        page.wait_for("client.state === 'open'")
        page.evaluate(f"{GAME_LOOP}({n})")
        page.wait_for("log.acks.length >= 3")
        ing.kill()  # kill -9 mid-session: no chance to publish or answer anything in flight
        page.wait_for(f"client.state !== 'open' && emitted.length >= {n // 2}", timeout=10)
        assert page.evaluate("emitted.length") < n, "the outage must fall inside the session"
        ing.start()  # same port and data directory: it recovers what the killed one left
        page.wait_for(f"emitted.length === {n} && client.pendingCount === 0", timeout=30)
        emitted = page.evaluate("emitted")
        states = [s["state"] for s in page.evaluate("log.status")]
        assert_one_frame_in_flight_per_batch_id(page)
        assert page.evaluate("storedEvents()") == []
        ids = landed_ids(ing)
    assert "closed" in states[states.index("open") :], "the client saw the server go away"
    assert set(ids) == set(emitted) and len(emitted) == n
    # duplicates (a frame landed but its ack lost in the kill) are allowed: dedupe is downstream


def test_events_queued_offline_survive_a_reload_and_go_when_the_server_returns(
    page: Page, site: str, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens here yet: the page is offline
    options = client_options(f"ws://127.0.0.1:{port}/", batchSize=3, batchMaxAgeMs=50)
    open_harness(page, site, options)
    emitted = page.evaluate(f"(() => {{ {PLAY} return events.map((e) => e.event_id); }})()")
    before: list[dict[str, Any]] = page.wait_for(
        "storedBatches().every((b) => b.batch_id) && storedBatches()", timeout=5
    )
    assert sorted(i for b in before for i in b["ids"]) == sorted(emitted)
    assert page.evaluate("log.acks.length") == 0 and page.evaluate("client.state") != "open"

    page.reload()
    page.wait_for("window.harnessReady === true")
    assert page.wait_for(f"client.pendingCount === {len(emitted)}", timeout=5)

    with running_ingestor(tmp_path, port=port, allowed_origins=[site]) as ing:
        page.wait_for("client.pendingCount === 0 && storedEvents().length === 0", timeout=15)
        sent = page.evaluate("log.frames.map((f) => [f.batch_id, f.events.map((e) => e.event_id)])")
        lines = landed(ing)
    assert sorted(line["event"]["event_id"] for line in lines) == sorted(emitted)
    stored_batches = {b["batch_id"]: b["ids"] for b in before}
    assert {batch_id: ids for batch_id, ids in sent} == stored_batches, (
        "after the reload the same batches go, with the same batch_id and event ids"
    )
    assert {line["batch_id"] for line in lines} == set(stored_batches)


def test_a_refused_event_reaches_on_rejected_and_is_not_sent_again(
    page: Page, site: str, tmp_path: Path
) -> None:
    # A refusal needs an event the client let through: one left queued in storage by an older
    # build of the game whose rules were looser (here, a match longer than a day).
    options = client_options("ws://x/", storageKey="respawn:test:")
    good = {
        "event_name": "match_played",
        "event_version": "v1",
        "event_id": str(uuid.uuid4()),
        "user_id": options["userId"],
        "session_id": str(uuid.uuid4()),
        "timestamp": "2026-01-30T18:27:10Z",
        "client_version": "1.3.0",
        "platform": "web",
        "match_id": str(uuid.uuid4()),
        "match_duration_sec": 312,
        "result": "win",
        "opponent_type": "human",
    }
    bad = good | {"event_id": str(uuid.uuid4()), "match_duration_sec": 100_000}
    batch_id = str(uuid.uuid4())
    older_queue = {"v": 1, "batches": [{"batch_id": batch_id, "events": [good, bad]}], "open": []}
    with running_ingestor(tmp_path, allowed_origins=[site]) as ing:
        open_harness(page, site)
        page.evaluate(
            f"""localStorage.setItem("respawn:test:q:older-build", {js(js(older_queue))});
            localStorage.setItem("respawn:test:alive:older-build", "released")"""
        )
        page.evaluate(f"makeClient({js(options | {'url': ing.url})})")
        page.wait_for("log.rejected.length === 1 && client.pendingCount === 0")
        rejection = page.evaluate("log.rejected[0]")
        ing.restart()  # a new connection: nothing refused may go again on it
        page.wait_for("log.status.filter((s) => s.state === 'open').length >= 2", timeout=10)
        page.evaluate(f"(() => {{ {PLAY} }})()")
        assert page.evaluate("client.flush({ timeoutMs: 10000 })") is True
        sent = Counter(page.evaluate("sentEventIds()"))
        assert page.evaluate("log.rejected.length") == 1
        ids = landed_ids(ing)
        dead = deadlettered(ing)
    assert rejection["code"] == "out_of_range" and rejection["field"] == "match_duration_sec"
    assert rejection["event"]["event_id"] == bad["event_id"] and rejection["index"] == 1
    assert rejection["batch_id"] == batch_id and "86400" in rejection["message"]
    assert sent[bad["event_id"]] == 1, "a refused event is never re-sent"
    assert good["event_id"] in ids and bad["event_id"] not in ids and len(ids) == 5
    assert [(d["failure"]["code"], d["batch_id"], d["index"]) for d in dead] == [
        ("out_of_range", batch_id, 1)
    ]


def test_the_token_travels_in_the_query_string(page: Page, site: str, tmp_path: Path) -> None:
    with running_ingestor(tmp_path, token="s3cret-token", allowed_origins=[site]) as ing:
        open_harness(page, site)
        wrong = client_options(ing.url, token="not-it", storageKey="respawn:wrong:")
        page.evaluate(
            f"""makeClient({js(wrong)}); window.refusedClient = client;
            client.sessionStart({{ isNewUser: false, entryPoint: "lobby" }})"""
        )
        # HTTP 401 before the upgrade: the client keeps the event and keeps trying
        page.wait_for("log.status.filter((s) => s.retryInMs !== undefined).length >= 3")
        assert page.evaluate("refusedClient.pendingCount") == 1
        assert "open" not in [s["state"] for s in page.evaluate("log.status")]
        page.evaluate("refusedClient.close()")
        right = client_options(ing.url, token="s3cret-token", storageKey="respawn:right:")
        events = page.evaluate(f"(() => {{ makeClient({js(right)}); {PLAY} return events; }})()")
        assert page.evaluate("client.flush({ timeoutMs: 10000 })") is True
        ids = landed_ids(ing)
    assert sorted(ids) == sorted(e["event_id"] for e in events)


def test_the_example_page_plays_a_session_and_shows_the_acks(
    page: Page, site: str, tmp_path: Path
) -> None:
    with running_ingestor(tmp_path, allowed_origins=[site]) as ing:
        page.navigate(f"{site}/client/example.html?url={quote(ing.url)}")
        page.wait_for("window.client && client.state === 'open'")
        page.evaluate("document.getElementById('play').click()")
        page.wait_for("document.getElementById('log').textContent.includes('session landed')", 15)
        acked = int(page.evaluate("document.getElementById('acked').textContent"))
        ids = landed_ids(ing)
    assert acked == 5 and len(set(ids)) == 5


def test_rate_limited_frames_are_sent_again_after_a_pause(
    page: Page, site: str, tmp_path: Path
) -> None:
    # 700 events queued before connecting, against bursts of 500 refilled at 200 per second
    limits = ["--rate-limit", "200", "--rate-burst", "500"]
    with running_ingestor(tmp_path, allowed_origins=[site], extra_args=limits) as ing:
        open_harness(page, site, client_options(ing.url, batchSize=50, autoConnect=False))
        emitted = page.evaluate(
            """(() => {
            const ids = [client.sessionStart({ isNewUser: false, entryPoint: "lobby" }).event_id];
            while (ids.length < 700) ids.push(client.matchPlayed(
                { matchDurationSec: 60, result: "win", opponentType: "bot" }).event_id);
            client.connect();
            return ids; })()"""
        )
        assert page.evaluate("client.flush({ timeoutMs: 20000 })", timeout=25) is True
        errors = page.evaluate("log.errors")
        ids = landed_ids(ing)
    assert any(e.startswith("rate_limited") for e in errors), "the server must limit this client"
    assert sorted(ids) == sorted(emitted), "every limited frame went again, and landed once"
