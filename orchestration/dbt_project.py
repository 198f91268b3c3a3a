"""The dbt project (`dbt_project/`) as Dagster sees it, built on first use.

Importing this module does nothing: `dbt_project()` and `dbt_cli()` build (once per process) the
`DbtProject` and the `DbtCliResource`, and the dbt domain reads the manifest when the code
location's definitions are built. The manifest is generated, never committed: `dagster dev`
parses the project when the definitions load (`prepare_if_dev`); elsewhere run `make dbt-manifest`
(`dagster-dbt project prepare-and-package --file orchestration/dbt_project.py`) first.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import sys
from functools import cached_property
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
# What scheduled and UI-launched runs execute. Unit tests check the SQL against fixed inputs, so
# they run where the SQL changes (`make test`, `dbt build` by hand), as dbt Labs recommends.
PRODUCTION_BUILD = ["build", "--exclude-resource-type", "unit_test"]
# The attribute `prepare-and-package` finds the project under (see `__getattr__` below).
PROJECT_ATTRIBUTE = "project"


def _put_dbt_on_path() -> None:
    """dbt is installed beside this interpreter, but the venv is often not activated (make, an
    IDE), and dagster-dbt's preparer looks `dbt` up on PATH: this environment's bin goes first
    on it, for this process and the dbt processes it starts."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if (Path(venv_bin) / "dbt").exists() and venv_bin not in path.split(os.pathsep):
        os.environ["PATH"] = venv_bin + os.pathsep + path


@functools.cache
def dbt_project() -> DbtProject:
    """The project, with dbt resolvable by its preparer and by the resource."""
    _put_dbt_on_path()
    return DbtProject(project_dir=DBT_PROJECT_DIR)


class RespawnDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two costs it pays before every `dbt` command, which our
    steps never use: a `dbt --version` subprocess to learn the version of the dbt beside this
    interpreter (a whole dbt start-up, and dbt then asks PyPI for its latest release: 50 s of
    wall time for 4.5 s of CPU on this machine; a hang where PyPI is unreachable), and an
    in-process adapter with the project's macros loaded (2 to 6 s), which serves only
    `fetch_row_counts()` and `fetch_column_metadata()`. The nightly job's dbt step paid both on
    every run (BENCHMARKS.md, "The nightly job").
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        # the dbt on PATH is this environment's (`_put_dbt_on_path`): its package says which
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Any) -> Any:
        return None  # the invocation then has no adapter: only the fetch_* methods need one


@functools.cache
def dbt_cli() -> DbtCliResource:
    return RespawnDbtCliResource(project_dir=dbt_project())


def require_manifest() -> Path:
    """The manifest path, or an error that says how to make it."""
    path = Path(dbt_project().manifest_path)
    if not path.exists():
        raise FileNotFoundError(
            f"The dbt manifest {path} does not exist. Run `make dbt-manifest` (or "
            "`.venv/bin/dagster-dbt project prepare-and-package --file "
            "orchestration/dbt_project.py`), or start the UI with `make dev`, which parses the "
            "dbt project when the code location loads."
        )
    return path


def __getattr__(name: str) -> Any:
    # `dagster-dbt project prepare-and-package --file orchestration/dbt_project.py` prepares
    # every DbtProject among this module's attributes, which it lists with dir() and reads with
    # getattr(): this hook (PEP 562) builds the project on that read, not at import.
    if name == PROJECT_ATTRIBUTE:
        return dbt_project()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), PROJECT_ATTRIBUTE])
