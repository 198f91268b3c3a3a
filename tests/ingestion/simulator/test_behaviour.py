"""The behaviour model: what the truth files say happened is what the events show."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import pytest

from ingestion.simulator.behaviour import (
    ABANDONED_MATCH,
    QUIT_AFTER_LOSS,
    RETURN_MIN_DAYS,
    PlayerLife,
    simulate_lives,
)
from ingestion.simulator.config import SimConfig
from ingestion.simulator.events import DAY_MS, date_text
from ingestion.simulator.truth import PLAYERS, RAGE_QUITS, SESSIONS, read_csv
from tests.ingestion.simulator.conftest import Run
from tests.ingestion.simulator.landed import event_at, ts

RAGE_WINDOW = timedelta(seconds=60)


def lives(players: int, days: int, seed: int) -> list[PlayerLife]:
    return simulate_lives(SimConfig(players=players, days=days, start=date(2026, 1, 5), seed=seed))


@pytest.fixture(scope="module")
def month() -> list[PlayerLife]:
    return lives(1200, 30, seed=3)


def platform_rage_quits(lines: list[dict[str, Any]]) -> list[tuple[Any, str]]:
    """Rage quits by the platform's definition (issue 5) on one session's events."""
    events = sorted(
        ((event_at(line), line["event"]) for line in lines),
        key=lambda p: (p[0], p[1]["event_name"] != "session_start"),
    )
    matches = [(t, e) for t, e in events if e["event_name"] == "match_played"]
    found = []
    for t, e in events:
        if e["event_name"] != "disconnect" or e["disconnect_reason"] != "quit":
            continue
        if any(m["result"] == "disconnect" and abs(t - mt) <= RAGE_WINDOW for mt, m in matches):
            found.append((t, ABANDONED_MATCH))
        elif any(
            m["result"] == "loss" and timedelta(0) <= t - mt <= RAGE_WINDOW for mt, m in matches
        ):
            found.append((t, QUIT_AFTER_LOSS))
    return found


@pytest.mark.parametrize("run_name", ["clean_run", "faulty_run"])
def test_truth_rage_quits_are_the_rage_quits_the_platform_finds_in_the_events(
    run_name: str, request: pytest.FixtureRequest
) -> None:
    run: Run = request.getfixturevalue(run_name)
    by_session = run.landed.by_session()
    truth_quits = defaultdict(list)
    for q in read_csv(run.truth_dir / RAGE_QUITS):
        truth_quits[q["session_id"]].append(q)
    sessions = read_csv(run.truth_dir / SESSIONS)
    total = 0
    for s in sessions:
        found = platform_rage_quits(by_session[s["session_id"]])
        expected = truth_quits[s["session_id"]]
        assert len(found) == int(s["rage_quits"]) == len(expected), s
        assert [kind for _, kind in found] == [q["kind"] for q in expected]
        if run_name == "clean_run":  # true clocks: the platform's time is off by latency only
            for (t, _), q in zip(found, expected, strict=True):
                assert abs(t - ts(q["quit_at"])) < timedelta(seconds=1)
        total += len(found)
    assert total > 100
    assert {q["kind"] for qs in truth_quits.values() for q in qs} == {
        ABANDONED_MATCH,
        QUIT_AFTER_LOSS,
    }


def test_session_truth_matches_the_landed_events(clean_run: Run) -> None:
    by_session = clean_run.landed.by_session()
    sessions = read_csv(clean_run.truth_dir / SESSIONS)
    assert set(by_session) == {s["session_id"] for s in sessions}
    first_session: dict[str, str] = {}
    for s in sessions:  # rows are in player order, then time order
        first_session.setdefault(s["user_id"], s["session_id"])
        events = [line["event"] for line in by_session[s["session_id"]]]
        assert len(events) == int(s["events"])
        start = [e for e in events if e["event_name"] == "session_start"]
        assert len(start) == 1 and ts(start[0]["timestamp"]) == ts(s["start"])
        assert start[0]["is_new_user"] == (first_session[s["user_id"]] == s["session_id"])
        assert start[0]["entry_point"] == s["entry_point"]
        results = [e["result"] for e in events if e["event_name"] == "match_played"]
        assert len(results) == int(s["matches"])
        assert results.count("win") == int(s["wins"]) and results.count("loss") == int(s["losses"])
        quits = [e for e in events if e["event_name"] == "disconnect"]
        assert [e["disconnect_reason"] for e in quits] == (
            [] if s["ended_by"] == "no_disconnect" else [s["ended_by"]]
        )


def test_a_churned_player_emits_nothing_after_churning_until_a_return(clean_run: Run) -> None:
    last_seen: dict[str, list] = defaultdict(list)
    for line in clean_run.landed.first_copies():  # no faults: timestamps are true times
        last_seen[line["event"]["user_id"]].append(ts(line["event"]["timestamp"]))
    sessions = defaultdict(list)
    for s in read_csv(clean_run.truth_dir / SESSIONS):
        sessions[s["user_id"]].append(s)
    churned = 0
    for p in read_csv(clean_run.truth_dir / PLAYERS):
        if not p["churn_date"]:
            continue
        churned += 1
        gone = ts(p["churned_at"])
        back = p["return_date"]
        after = [t for t in last_seen[p["user_id"]] if t > gone]
        if back:
            assert min(after).date().isoformat() == back
        else:
            assert after == []
        starts = [s["start_date"] for s in sessions[p["user_id"]]]
        assert p["churn_date"] in starts
        assert all(d <= p["churn_date"] or (back and d >= back) for d in starts)
    assert churned > 50


def test_churn_is_foreshadowed_by_rage_quits_in_the_week_before(month: list[PlayerLife]) -> None:
    def week(life: PlayerLife, end_ms: int) -> list:
        return [s for s in life.sessions if end_ms - 7 * DAY_MS < s.start_ms <= end_ms]

    before_churn, ordinary = [], []
    start_ms = min(life.install_ms for life in month) // DAY_MS * DAY_MS
    for life in month:
        if life.churns:
            before_churn += week(life, life.churns[0].last_session_start_ms)
        else:
            for day in (7, 14, 21, 28):
                ordinary += week(life, start_ms + day * DAY_MS)

    def rage_rate(sessions: list) -> float:
        return sum(len(s.rage_quits) for s in sessions) / len(sessions)

    assert len(before_churn) > 500 and len(ordinary) > 500
    assert rage_rate(before_churn) > 1.8 * rage_rate(ordinary)
    churn_share = sum(bool(life.churns) for life in month) / len(month)
    assert 0.25 < churn_share < 0.6
    drivers = {life.churns[0].driver for life in month if life.churns}
    assert {"losses", "rage_quits"} <= drivers


def test_a_few_churned_players_come_back_after_a_long_absence() -> None:
    two_months = lives(500, 60, seed=9)
    churned = [life for life in two_months if life.churns]
    back = [life for life in churned if life.churns[0].return_ms is not None]
    assert 0 < len(back) < 0.25 * len(churned)
    for life in back:
        churn = life.churns[0]
        assert churn.return_ms is not None
        # Dates, as the label counts them: no session in the 14 days after the churn date.
        away = churn.return_ms // DAY_MS - churn.last_session_start_ms // DAY_MS
        assert away >= RETURN_MIN_DAYS
        between = [s for s in life.sessions if churn.last_event_ms < s.start_ms < churn.return_ms]
        assert between == []


def test_players_install_over_the_period_with_a_launch_peak(month: list[PlayerLife]) -> None:
    days = [(life.install_ms - month[0].install_ms) // DAY_MS for life in month]
    install_dates = sorted(date_text(life.install_ms) for life in month)
    assert install_dates[0] >= "2026-01-05" and install_dates[-1] < "2026-02-04"
    first_week = sum(1 for d in install_dates if d < "2026-01-12")
    last_week = sum(1 for d in install_dates if d >= "2026-01-28")
    assert first_week > 2 * last_week > 0
    assert len(set(days)) > 1
    for life in month:  # the first session is the install, and only it is a new user's
        assert life.sessions[0].start_ms == life.install_ms
        assert [s.is_new_user for s in life.sessions] == [True] + [False] * (len(life.sessions) - 1)
