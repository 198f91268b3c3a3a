"""Property: whatever the order in which receive days arrive, are loaded again or replaced,
building incrementally after each load gives exactly what a full refresh of the same data
gives, in every model, row for row.

`make test` runs a few dozen generated histories; `HYPOTHESIS_PROFILE=deep` runs many more:

    HYPOTHESIS_PROFILE=deep .venv/bin/python -m pytest tests/dbt/test_incremental_property.py
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.dbt.harness import NIGHTLY, Dbt, Warehouse, assert_same_rows
from tests.dbt.histories import History, histories

EXAMPLES = {"deep": 400}.get(os.environ.get("HYPOTHESIS_PROFILE", ""), 15)


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(history=histories())
def test_incremental_builds_equal_a_full_refresh_whatever_the_order_of_arrival(
    dbt: Dbt, scratch: Path, history: History
) -> None:
    # with -s, a line per example shows the progress of a long (deep) run
    print(f"history: {len(history.steps)} steps, {history.copies} copies")
    root = Path(tempfile.mkdtemp(dir=scratch))
    try:
        check(dbt, root, history)
    finally:
        shutil.rmtree(root)


def check(dbt: Dbt, root: Path, history: History) -> None:
    warehouse = Warehouse(root / "incremental")
    for number, step in enumerate(history.steps):
        for shard in step.shards:
            warehouse.land(shard)
        for day in step.days:
            warehouse.load(day, replace=step.replace)
        # the nightly build (models and data tests) after the last load; models before
        last = number == len(history.steps) - 1
        dbt(warehouse.home, *(NIGHTLY if last else ("run",)))
    reference = warehouse.copy_to(root / "full-refresh")
    dbt(reference.home, "run", "--full-refresh")
    assert_same_rows(warehouse, reference, dbt.models())
