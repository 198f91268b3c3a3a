"""`event_id_unique`: raw.events holds each event_id once, or the check fails (blocking the marts)
and says how many ids repeat, with the most repeated as examples."""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.resources import WarehouseResource
from orchestration.warehouse.checks import event_id_unique


def _warehouse(tmp_path: Path, ids: list[str]) -> WarehouseResource:
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema raw")
        con.execute("create table raw.events (event_id varchar)")
        con.executemany("insert into raw.events values (?)", [(i,) for i in ids])
    return WarehouseResource(database=str(database))


def test_every_id_once_passes(tmp_path: Path) -> None:
    result = event_id_unique(warehouse=_warehouse(tmp_path, ["a", "b", "c"]))
    assert result.passed
    assert result.metadata["duplicated ids"].value == 0


def test_repeated_ids_fail_with_their_count_and_the_most_repeated_first(tmp_path: Path) -> None:
    ids = ["a", "b", "b", "c", "c", "c", *(f"x{n}" for n in range(7) for _ in range(2))]
    result = event_id_unique(warehouse=_warehouse(tmp_path, ids))
    assert not result.passed
    assert result.metadata["duplicated ids"].value == 9  # b, c and x0..x6
    examples = result.metadata["examples"].value  # a markdown table, most copies first
    rows = [line for line in examples.splitlines() if line.startswith("|")][2:]
    assert [[cell.strip() for cell in row.strip("|").split("|")] for row in rows] == [
        ["c", "3"], ["b", "2"], ["x0", "2"], ["x1", "2"], ["x2", "2"],
    ]  # fmt: skip
