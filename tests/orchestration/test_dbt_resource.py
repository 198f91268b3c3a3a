"""The dbt resource starts dbt once per command: no `dbt --version` probe before it, no adapter
in the Dagster process (the nightly job's dbt step paid both on every run; BENCHMARKS.md)."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

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


def test_the_version_it_assumes_is_the_one_of_the_dbt_it_runs() -> None:
    # the interpreter of the `dbt` script says which dbt-core that command runs (`dbt --version`
    # would also ask PyPI for the latest release: that lookup is most of what it costs)
    interpreter = REAL_DBT.read_text().splitlines()[0].removeprefix("#!").strip()
    installed = subprocess.run(
        [interpreter, "-c", "import dbt.version; print(dbt.version.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert installed == importlib.metadata.version("dbt-core")
    assert str(dbt_cli()._cli_version) == installed


def test_a_command_starts_dbt_exactly_once(tmp_path: Path) -> None:
    script, calls = _counting_dbt(tmp_path)
    ours = RespawnDbtCliResource(project_dir=dbt_project(), dbt_executable=os.fspath(script))
    ours.cli(["debug", "--config-dir"], raise_on_error=True).wait()
    assert len(_starts(calls)) == 1, _starts(calls)  # dagster-dbt alone: 2 (a `--version` first)
