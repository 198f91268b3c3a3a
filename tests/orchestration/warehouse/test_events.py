"""events: one row per event_id, the earliest received copy, in whatever order days are loaded;
conflicting copies recorded; rows that break the contract quarantined, not merged."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from ingestion.landing.lines import format_ts
from tests.orchestration.landed import Landing, at, event, session
from tests.orchestration.runs import query, run_days

DAY1, DAY2 = date(2026, 1, 30), date(2026, 1, 31)
USER = "66666666-6666-4666-8666-666666666666"


def _check(result: dg.ExecuteInProcessResult, name: str) -> dg.AssetCheckEvaluation:
    return next(e for e in result.get_asset_check_evaluations() if e.check_name == name)


def _retry_scenario(second_payload_differs: bool) -> list[tuple[list[dict], object]]:
    """Batches to land: one event received at 23:59:59 on day 1 and again (a client retry) after
    midnight, and the same event twice in one day (the tie is broken by shard, then line)."""
    first = session(USER, at(DAY1, 23, 40))
    retried = first[-1]
    again = copy.deepcopy(retried)
    if second_payload_differs:
        again["disconnect_reason"] = "crash"
    twice = session(USER, at(DAY2, 15), matches=1)
    return [
        (first[:-1], None),
        ([retried], at(DAY1, 23, 59, 59)),
        ([again], at(DAY2, 0, 0, 30)),
        (session(USER, at(DAY2, 10)), None),
        (twice, None),
        (twice[:1], at(DAY2, 15, 0, 1)),
    ]


def _land(landing: Landing, batches: list[tuple[list[dict], object]]) -> dict:
    for events, received in batches:
        landing.events(events, received=received)
    return batches[1][0][0]  # the retried event


@pytest.mark.parametrize("order", [(DAY1, DAY2), (DAY2, DAY1)], ids=["in order", "reversed"])
def test_duplicates_across_partitions_leave_one_copy_the_earliest_received(
    home: Path, landing: Landing, instance: dg.DagsterInstance, order: tuple[date, date]
) -> None:
    retried = _land(landing, _retry_scenario(second_payload_differs=False))
    for day in order:
        assert run_days(home, instance, day.isoformat()).success

    raw, unique = query(home, "select count(*), count(distinct event_id) from raw.raw_events")[0]
    assert raw == unique + 2  # the midnight retry and the same-day copy
    assert query(home, "select count(*), count(distinct event_id) from raw.events")[0] == (
        unique,
        unique,
    )
    kept = query(
        home,
        "select receive_date, received_at from raw.events where event_id = ?",
        [retried["event_id"]],
    )
    assert kept == [(DAY1, at(DAY1, 23, 59, 59).replace(tzinfo=None))]
    assert query(home, "select count(*) from raw.event_id_conflicts") == [(0,)]


def test_the_order_of_materialization_does_not_change_events_or_conflicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance: dg.DagsterInstance
) -> None:
    scenario = _retry_scenario(second_payload_differs=True)
    tables = []
    for name, order in (("a", (DAY1, DAY2)), ("b", (DAY2, DAY1))):
        home = tmp_path / name
        monkeypatch.setenv("RESPAWN_HOME", str(home))
        _land(Landing(home), scenario)
        for day in order:
            run_days(home, instance, day.isoformat())
        tables.append(
            (
                query(home, "select * from raw.events order by event_id"),
                query(
                    home,
                    "select * exclude (detected_at) from raw.event_id_conflicts order by all",
                ),
            )
        )
    assert tables[0] == tables[1]
    assert len(tables[0][1]) == 1  # the conflict is found in both orders


def test_differing_payloads_for_one_id_are_recorded_as_conflicts_never_merged(
    home: Path, landing: Landing, instance: dg.DagsterInstance
) -> None:
    retried = _land(landing, _retry_scenario(second_payload_differs=True))
    run_days(home, instance, DAY1.isoformat())
    result = run_days(home, instance, DAY2.isoformat())

    kept = query(home, "select payload from raw.events where event_id = ?", [retried["event_id"]])
    assert [json.loads(p) for (p,) in kept] == [retried]  # the earliest copy, untouched
    conflicts = query(
        home,
        "select kept_payload, payload, receive_date from raw.event_id_conflicts",
    )
    assert len(conflicts) == 1
    kept_payload, payload, receive_date = conflicts[0]
    assert json.loads(kept_payload)["disconnect_reason"] == "quit"
    assert json.loads(payload)["disconnect_reason"] == "crash"
    assert receive_date == DAY2

    check = _check(result, "no_new_conflicts")
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["conflicting copies"].value == 1
    assert retried["event_id"] in check.metadata["examples"].value


def test_a_contract_violation_fails_the_check_with_examples_and_stays_out_of_events(
    home: Path, landing: Landing, instance: dg.DagsterInstance
) -> None:
    good = session(USER, at(DAY1, 9))
    # Lines a broken writer could publish: labelled valid, yet against the v1 contract.
    bad_user = event(
        "session_start", at(DAY1, 10), "not-a-uuid", USER, is_new_user=True, entry_point="lobby"
    )
    bad_result = event(
        "match_played",
        at(DAY1, 11),
        USER,
        USER,
        match_id=USER,
        match_duration_sec=60,
        result="banana",
        opponent_type="bot",
    )
    no_fields = event("disconnect", at(DAY1, 12), USER, USER)
    landing.events([*good, bad_user, bad_result, no_fields])
    # a newer client's event: unknown, not a violation
    newer = event("emote_sent", at(DAY1, 13), USER, USER, emote="gg")
    newer["timestamp"] = format_ts(at(DAY1, 13))
    landing.events([newer], status="unknown")

    result = run_days(home, instance, DAY1.isoformat())
    assert result.success  # a violation fails the check, not the run

    check = _check(result, "rows_match_contract")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["rows failed (quarantined)"].value == 3
    examples = check.metadata["examples"].value
    for ev in (bad_user, bad_result, no_fields):
        assert ev["event_id"] in examples
    assert "user_id: uuid_format" in examples and "banana" in examples
    assert "disconnect_has_its_fields" in examples

    in_events = {i for (i,) in query(home, "select event_id from raw.events")}
    assert in_events == {e["event_id"] for e in good} | {newer["event_id"]}
    quarantined = dict(query(home, "select event_id, failures from raw.quarantined_events"))
    assert set(quarantined) == {bad_user["event_id"], bad_result["event_id"], no_fields["event_id"]}
    assert "uuid_format" in quarantined[bad_user["event_id"]]
