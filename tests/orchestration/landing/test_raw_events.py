"""raw_events / deadletter_events: every landed line, exactly, once; a changed shard is an error."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import orjson

from ingestion.landing.lines import format_ts
from ingestion.settings import landing_root, warehouse_path
from tests.orchestration.landed import Landing, at, event, session
from tests.orchestration.runs import query, raw_rows, run_days

DAY = date(2026, 1, 30)
KEY = DAY.isoformat()


def _land_day(landing: Landing) -> list[dict]:
    morning = session("11111111-1111-4111-8111-111111111111", at(DAY, 9))
    evening = session("22222222-2222-4222-8222-222222222222", at(DAY, 20), matches=3)
    # a client in UTC+2: its timestamp has an offset, client_ts must be UTC
    evening[1]["timestamp"] = format_ts(at(DAY, 20, 6)).replace("Z", "")[:19] + "+02:00"
    landing.events(morning)
    landing.events(evening, received=at(DAY, 20, 30))
    landing.deadletter(["{not json", "[1, 2]"], at(DAY, 21))
    return morning + evening


def _land_and_load_day(home: Path, landing: Landing, instance: dg.DagsterInstance) -> int:
    """The day landed and loaded once: how many rows raw_events then holds."""
    _land_day(landing)
    run_days(home, instance, KEY)
    return raw_rows(home)


def test_a_partition_loads_every_landed_line_with_typed_columns_and_exact_line_numbers(
    home: Path, landing: Landing, instance: dg.DagsterInstance
) -> None:
    events = _land_day(landing)
    result = run_days(home, instance, KEY)
    assert result.success

    rows = query(
        home,
        "select event_id, payload, shard_path, line_number, client_ts, client_timestamp, "
        "receive_date, status from raw.raw_events order by shard_path, line_number",
    )
    assert len(rows) == len(events)
    by_id = {e["event_id"]: e for e in events}
    for event_id, payload, shard_path, line_number, _, sent, receive_date, status in rows:
        assert json.loads(payload) == by_id[event_id]  # the whole client event, untouched
        line = (landing_root(home) / shard_path).read_bytes().splitlines()[line_number - 1]
        assert orjson.loads(line)["event"]["event_id"] == event_id  # line numbers are exact
        assert sent == by_id[event_id]["timestamp"]
        assert receive_date == DAY and status == "valid"
    offset = next(r for r in rows if r[5].endswith("+02:00"))
    assert offset[4] == at(DAY, 18, 6).replace(tzinfo=None)  # 20:06+02:00 is 18:06 UTC

    typed = query(
        home,
        "select event_name, is_new_user, entry_point, match_duration_sec, result, "
        "disconnect_reason from raw.raw_events where user_id like '1111%' order by client_ts",
    )
    assert typed[0] == ("session_start", False, "lobby", None, None, None)
    assert typed[1] == ("match_played", None, None, 330, "loss", None)
    assert typed[-1][0] == "disconnect" and typed[-1][5] == "quit"

    deadletter = query(
        home, "select failure_code, raw, line_number from raw.deadletter_events order by 3"
    )
    assert deadletter == [("invalid_json", "{not json", 1), ("invalid_json", "[1, 2]", 2)]

    manifest = query(
        home, "select stream, shard_path, size_bytes, row_count, checksum from raw.loaded_shards"
    )
    assert len(manifest) == len(landing.published) == 3
    for stream, shard_path, size, row_count, checksum in manifest:
        data = (landing_root(home) / shard_path).read_bytes()
        assert shard_path.startswith(stream)
        assert (size, row_count) == (len(data), data.count(b"\n"))
        assert checksum == hashlib.sha256(data).hexdigest()

    meta = result.asset_materializations_for_node("load_landed_shards")[0].metadata
    assert meta["dagster/row_count"].value == len(events)
    assert meta["shards loaded"].value == 2
    assert "| event_name |" in meta["preview"].value
    assert meta["received_at first"].value.startswith(KEY)


def test_materializing_a_partition_again_loads_only_new_shards_and_keeps_the_same_rows(
    home: Path, landing: Landing, instance: dg.DagsterInstance
) -> None:
    _land_day(landing)
    run_days(home, instance, KEY)
    before = query(home, "select * exclude (payload) from raw.raw_events order by all")

    again = run_days(home, instance, KEY)
    meta = again.asset_materializations_for_node("load_landed_shards")[0].metadata
    assert (meta["shards loaded"].value, meta["shards already loaded"].value) == (0, 2)
    assert query(home, "select * exclude (payload) from raw.raw_events order by all") == before

    late = session("33333333-3333-4333-8333-333333333333", at(DAY, 23))
    landing.events(late)
    run_days(home, instance, KEY)
    assert raw_rows(home) == len(before) + len(late)
    assert query(home, "select count(*) from raw.loaded_shards where stream = 'events'") == [(3,)]


def test_replace_reloads_the_partition_from_what_landing_holds(
    home: Path, landing: Landing, instance: dg.DagsterInstance
) -> None:
    count = _land_and_load_day(home, landing, instance)
    result = run_days(home, instance, KEY, replace=True)
    meta = result.asset_materializations_for_node("load_landed_shards")[0].metadata
    assert meta["replaced partition"].value is True
    assert meta["rows removed"].value == count
    assert raw_rows(home) == count


def test_a_shard_changed_after_it_was_loaded_fails_the_run_and_the_warehouse_is_unchanged(
    home: Path, landing: Landing, instance: dg.DagsterInstance
) -> None:
    before = _land_and_load_day(home, landing, instance)
    with landing.published[0].open("ab") as f:  # rewrite a published shard
        f.write(landing.published[0].read_bytes().splitlines(keepends=True)[0])
    landing.events(session("44444444-4444-4444-8444-444444444444", at(DAY, 22)))

    result = run_days(home, instance, KEY, raise_on_error=False)
    assert not result.success
    failure = result.failure_data_for_node("load_landed_shards")
    assert failure is not None and "changed after they were loaded" in failure.error.message
    assert landing.published[0].name in failure.error.message
    # one transaction: the new shard of the failed run was not loaded either
    assert raw_rows(home) == before


def test_a_warehouse_locked_by_another_process_fails_with_an_error_naming_the_lock(
    home: Path, landing: Landing, instance: dg.DagsterInstance
) -> None:
    from orchestration.resources import WarehouseResource

    _land_day(landing)
    path = warehouse_path(home)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); "
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        warehouse = WarehouseResource(database=str(path), lock_timeout_seconds=0.5)
        result = run_days(home, instance, KEY, raise_on_error=False, warehouse=warehouse)
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert not result.success
    message = result.failure_data_for_node("load_landed_shards").error.message
    assert f"PID {holder.pid}" in message
    assert "locked by" in message and "warehouse" in message and "one writing process" in message


def test_line_numbers_stay_exact_across_many_shards_and_hours(
    home: Path, landing: Landing, instance: dg.DagsterInstance
) -> None:
    user = "55555555-5555-4555-8555-555555555555"
    for shard in range(6):  # several writers, several hours, shards of different lengths
        start = at(DAY, 3 + shard)
        evs = [
            event(
                "disconnect",
                start + timedelta(seconds=i),
                user,
                user,
                disconnect_reason="network",
                time_since_session_start_sec=i,
            )
            for i in range(5 + 7 * shard)
        ]
        landing.events(evs)
    run_days(home, instance, KEY, only_landing=True)
    for event_id, shard_path, line_number in query(
        home, "select event_id, shard_path, line_number from raw.raw_events"
    ):
        line = (landing_root(home) / shard_path).read_bytes().splitlines()[line_number - 1]
        assert orjson.loads(line)["event"]["event_id"] == event_id
