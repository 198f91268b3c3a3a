"""Each data-quality fault shows up in the landed data at the rate it was set to.

Measured from the landed lines themselves (and the true times of the truth files), with a
tolerance of about four standard deviations of the count."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import UTC, datetime, time, timedelta

from ingestion.simulator.delivery import NEW_CLIENT, OLD_CLIENT
from ingestion.simulator.truth import PLAYERS, SESSIONS, read_csv
from tests.ingestion.simulator.conftest import TEST_FAULTS, Run
from tests.ingestion.simulator.landed import ts


def assert_rate(hits: int, trials: int, rate: float) -> None:
    assert trials > 0
    tolerance = 4 * math.sqrt(rate * (1 - rate) / trials) + 0.002
    assert abs(hits / trials - rate) <= tolerance, (hits, trials, hits / trials, rate)


def test_duplicates_are_extra_sends_on_the_same_connection(faulty_run: Run) -> None:
    landed = faulty_run.landed
    extra = sum(
        1
        for copies in landed.copies.values()
        for later in copies[1:]
        if later["connection_id"] == copies[0]["connection_id"]
    )
    assert_rate(extra, len(landed.copies), TEST_FAULTS.duplicate)


def test_dropped_connections_land_the_frame_again_on_a_new_connection(faulty_run: Run) -> None:
    # A frame is known by its batch id, or by its one event when bare. Duplicate frames have
    # batch ids of their own (a bare duplicate shares its event's key and connection), and
    # every resend leaves on a new connection: each connection beyond the first is a resend.
    frames: dict[str, set[str]] = defaultdict(set)
    for line in faulty_run.landed.lines:
        frames[line["batch_id"] or line["event"]["event_id"]].add(line["connection_id"])
    for line in faulty_run.landed.deadletter:
        frames[line["batch_id"] or line["raw"]].add(line["connection_id"])
    resent = sum(len(conns) - 1 for conns in frames.values())
    assert_rate(resent, faulty_run.counts.frames, TEST_FAULTS.drop_connection)
    assert faulty_run.counts.retried_frames == resent


def test_malformed_copies_are_dead_lettered_at_their_rate(faulty_run: Run) -> None:
    first_sends = {
        (d["connection_id"], d["raw"]) for d in faulty_run.landed.deadletter
    }  # a resend of a frame repeats its malformed events on another connection
    distinct = {raw for _, raw in first_sends}
    assert_rate(len(distinct), len(faulty_run.landed.copies), TEST_FAULTS.malformed)


def test_offline_sessions_arrive_hours_after_they_end(faulty_run: Run) -> None:
    sessions = read_csv(faulty_run.truth_dir / SESSIONS)
    first_arrival = {
        sid: min(ts(line["received_at"]) for line in lines)
        for sid, lines in faulty_run.landed.by_session().items()
    }
    late = {
        s["session_id"]
        for s in sessions
        if first_arrival[s["session_id"]] - ts(s["end"]) >= timedelta(hours=1)
    }
    assert_rate(len(late), len(sessions), TEST_FAULTS.offline)
    # Flagged in the truth exactly when late, except near the end: everything arrives in time.
    cfg = faulty_run.cfg
    period_end = datetime.combine(cfg.start, time(), UTC) + timedelta(days=cfg.days)
    for s in sessions:
        if ts(s["end"]) < period_end - timedelta(hours=2):
            assert (s["delivery"] == "offline") == (s["session_id"] in late), s
    assert max(first_arrival.values()) < period_end


def test_out_of_order_sessions_arrive_in_another_order_than_they_happened(
    faulty_run: Run,
) -> None:
    by_session = faulty_run.landed.by_session()
    sessions = [s for s in read_csv(faulty_run.truth_dir / SESSIONS) if int(s["events"]) >= 2]
    shuffled = 0
    for s in sessions:
        stamps = [ts(line["event"]["timestamp"]) for line in by_session[s["session_id"]]]
        disordered = stamps != sorted(stamps)
        assert disordered == (s["out_of_order"] == "1"), s["session_id"]
        shuffled += disordered
    assert_rate(shuffled, len(sessions), TEST_FAULTS.out_of_order)


def test_skewed_device_clocks_show_in_sent_at(faulty_run: Run) -> None:
    skew: dict[str, timedelta] = {}
    for line in faulty_run.landed.lines:  # batches only: bare events carry no sent_at
        if line["sent_at"] is not None:
            gap = abs(ts(line["sent_at"]) - ts(line["received_at"]))
            user = line["event"]["user_id"]
            skew[user] = max(skew.get(user, gap), gap)
    skewed = sum(gap >= timedelta(minutes=1) for gap in skew.values())
    assert_rate(skewed, len(skew), TEST_FAULTS.clock_skew)
    for p in read_csv(faulty_run.truth_dir / PLAYERS):
        if p["user_id"] in skew and abs(float(p["clock_offset_sec"])) < 1:
            assert float(p["clock_drift_sec_per_day"]) == 0
            assert skew[p["user_id"]] < timedelta(seconds=5)


def test_the_old_client_sends_bare_events_until_the_player_updates(faulty_run: Run) -> None:
    players = {p["user_id"]: p for p in read_csv(faulty_run.truth_dir / PLAYERS)}
    versions: Counter[str] = Counter()
    rollout = faulty_run.cfg.rollout_ms
    assert rollout is not None
    for line in faulty_run.landed.first_copies():
        event = line["event"]
        versions[event["client_version"]] += 1
        update = players[event["user_id"]]["client_update_at"]
        if event["client_version"] == OLD_CLIENT:
            assert line["sent_at"] is None and line["batch_id"] is None
        else:
            assert event["client_version"] == NEW_CLIENT
            assert line["sent_at"] is not None and line["batch_id"] is not None
            assert update and ts(update) <= ts(event["timestamp"]) + timedelta(hours=7)
    assert versions[OLD_CLIENT] > 1000 and versions[NEW_CLIENT] > 1000
