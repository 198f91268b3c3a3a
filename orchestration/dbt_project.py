"""The dbt project (`dbt_project/`) as Dagster sees it.

The manifest is generated, never committed: `dagster dev` parses the project at load
(`prepare_if_dev`); elsewhere run `make dbt-manifest` (`dagster-dbt project prepare-and-package`)
before loading the definitions.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
# What scheduled and UI-launched runs execute. Unit tests check the SQL against fixed inputs, so
# they run where the SQL changes (`make test`, `dbt build` by hand), as dbt Labs recommends.
PRODUCTION_BUILD = ["build", "--exclude-resource-type", "unit_test"]
_VENV_BIN = str(Path(sys.executable).parent)

# dbt is installed beside this interpreter, but the venv is often not activated (make, an IDE):
# dagster-dbt's preparer looks dbt up on PATH, so this environment's bin goes first on it.
if (Path(_VENV_BIN) / "dbt").exists() and _VENV_BIN not in os.environ["PATH"].split(os.pathsep):
    os.environ["PATH"] = _VENV_BIN + os.pathsep + os.environ["PATH"]

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()


def dbt_cli() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project)


def require_manifest() -> Path:
    """The manifest path, or an error that says how to make it."""
    path = Path(dbt_project.manifest_path)
    if not path.exists():
        raise FileNotFoundError(
            f"The dbt manifest {path} does not exist. Run `make dbt-manifest` (or "
            "`.venv/bin/dagster-dbt project prepare-and-package --file "
            "orchestration/dbt_project.py`), or start the UI with `make dev`, which parses the "
            "dbt project when the code location loads."
        )
    return path
