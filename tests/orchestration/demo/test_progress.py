"""The demo's progress lines come from the run's own events as they are stored: each step, each
asset, each failed check and warning, and a line while a step is quiet for long."""

import io
import re
import time
import uuid

import dagster as dg
import pytest

from orchestration.demo import progress
from orchestration.demo.progress import RunProgress


@dg.asset
def quick() -> dg.MaterializeResult:
    return dg.MaterializeResult()


@dg.asset(deps=[quick], check_specs=[dg.AssetCheckSpec("has_rows", asset="slow")])
def slow(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    context.log.warning("nothing new since yesterday")
    time.sleep(2.6)
    return dg.MaterializeResult(
        check_results=[dg.AssetCheckResult(passed=False, description="no rows")]
    )


def test_each_step_asset_failed_check_and_warning_gets_a_line_and_a_quiet_step_a_heartbeat(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "ANNOUNCE_SECONDS", 0.5)
    monkeypatch.setattr(progress, "HEARTBEAT_SECONDS", 1.0)
    job = dg.Definitions(
        assets=[quick, slow], jobs=[dg.define_asset_job("two_steps")]
    ).resolve_job_def("two_steps")
    out = io.StringIO()
    run_id = str(uuid.uuid4())
    with RunProgress("two_steps", run_id, instance, out=out):
        assert job.execute_in_process(run_id=run_id, instance=instance).success
    lines = [re.sub(r"^\s*\d+:\d\d  ", "", line) for line in out.getvalue().splitlines()]
    assert all(re.match(r"^\s*\d+:\d\d  ", line) for line in out.getvalue().splitlines())
    assert "  quick materialized" in lines
    assert "  slow materialized" in lines
    assert "  slow: nothing new since yesterday" in lines
    assert "  check slow / has_rows: FAILED (error)" in lines
    assert any(re.fullmatch(r"quick: done in \d+\.\d s", line) for line in lines)
    assert "slow: running" in lines  # announced once it ran for a while
    assert any(re.fullmatch(r"slow: still running \(\d s\)", line) for line in lines)
    assert "quick: running" not in lines  # too quick to announce
    assert lines.index("slow: running") < lines.index("  slow materialized")
