"""The dbt resource starts dbt once per command: no `dbt --version` probe before it, no adapter
in the Dagster process (the nightly job's dbt step paid both on every run; BENCHMARKS.md)."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource

from orchestration.dbt_project import RespawnDbtCliResource, dbt_cli, dbt_project

REAL_DBT = Path(sys.executable).parent / "dbt"


def _counting_dbt(tmp_path: Path) -> tuple[Path, Path]:
    """A `dbt` that records each start in a file, then runs the real one."""
    calls = tmp_path / "calls"
    script = tmp_path / "dbt"
    script.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {REAL_DBT} "$@"\n')
    script.chmod(0o755)
    return script, calls


def _starts(calls: Path) -> list[str]:
    return calls.read_text().splitlines() if calls.exists() else []


def test_the_code_location_uses_the_resource_that_starts_dbt_once() -> None:
    assert isinstance(dbt_cli(), RespawnDbtCliResource)


def test_the_version_it_assumes_is_the_one_dbt_reports() -> None:
    reported = subprocess.run(
        [str(REAL_DBT), "--version"], capture_output=True, text=True, check=True
    ).stdout
    core = re.search(r"installed:\s*(\d+\.\d+\.\d+)", reported)
    assert core is not None, reported
    assert core.group(1) == importlib.metadata.version("dbt-core")
    assert str(dbt_cli()._cli_version) == core.group(1)


def test_a_command_starts_dbt_exactly_once(tmp_path: Path) -> None:
    script, calls = _counting_dbt(tmp_path)
    ours = RespawnDbtCliResource(project_dir=dbt_project(), dbt_executable=os.fspath(script))
    ours.cli(["--version"], raise_on_error=True).wait()
    assert len(_starts(calls)) == 1, _starts(calls)


def test_dagster_dbt_alone_would_start_it_twice(tmp_path: Path) -> None:
    """What the resource saves: the stock resource probes the version first (if dagster-dbt
    stops doing so, this fails and the override can go)."""
    script, calls = _counting_dbt(tmp_path)
    stock = DbtCliResource(project_dir=dbt_project(), dbt_executable=os.fspath(script))
    stock.cli(["--version"], raise_on_error=True).wait()
    assert len(_starts(calls)) == 2, _starts(calls)
