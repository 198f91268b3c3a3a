"""The analytics engineers' guide works as written: every `sh` block of
docs/analytics-engineers.md (Workflow, Incremental runs, Lint: sqlfluff, Worked example) runs, as
the guide has it, in a copy of the repository's layout on a small real warehouse, and the worked
example's SQL and YAML are applied from the guide itself.

Three commands are run with a change the guide could not make for a test, said where it happens:
`dbt docs serve` (a server: on a free port, until it answers), the deep property test (its 400
histories take an hour: collected only, the suite runs the property itself) and the lint of all
models (the suite runs that very command while dbt builds: `conftest.sqlfluff_lint`).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.dbt import guide, scenario
from tests.dbt.conftest import load_events
from tests.dbt.harness import PROJECT_DIR, REPO

# What a fresh clone has beside dbt_project/ that the guide's commands use.
LINKED = (".venv", "Makefile", "pyproject.toml", "constraints.txt")
SERVED = """
served() {  # wait until a local web server answers on port $1
    "$RESPAWN_TEST_PYTHON" - "$1" <<'PY'
import sys, time, urllib.request
deadline = time.monotonic() + 60
while True:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=2).read()
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)
PY
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def runnable(block: guide.Block) -> str:
    """The block as bash runs it here (see the module docstring for the three changes)."""
    lines = []
    for command in block.commands:
        if "docs serve" in command:
            port = free_port()
            command = command.replace("--port 8080", f"--port {port}")
            head, _, serve = command.rpartition("&& ")
            lines.append(f"{head}&& {{ {serve} & }}; server=$!; served {port}; kill $server")
        elif "pytest" in command:
            lines.append(f"{command} --collect-only -q")
        else:
            lines.append(command)
    return SERVED + "\n".join(lines)


def run_block(root: Path, block: guide.Block, timeout: float = 600) -> str:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(root),
           "RESPAWN_TEST_PYTHON": sys.executable}  # fmt: skip
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", runnable(block)],
        cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (
        f"the guide's commands failed ({block.section}):\n{block.body}\n"
        f"{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's layout: a copy of dbt_project/, the rest linked; a small warehouse in
    data/ (the default RESPAWN_HOME of the Makefile and the profile)."""
    root = tmp_path_factory.mktemp("clone")
    shutil.copytree(
        PROJECT_DIR, root / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"),
    )  # fmt: skip
    for name in LINKED:
        (root / name).symlink_to(REPO / name)
    # `make dbt-manifest` prepares the project next to this file: the copy, not the repository
    (root / "orchestration").mkdir()
    shutil.copy(REPO / "orchestration" / "dbt_project.py", root / "orchestration")
    load_events(root / "data", scenario.HISTORY)
    return root


@pytest.fixture(scope="module")
def workflow(clone: Path) -> Path:
    """The clone after the guide's Workflow commands (build, full refresh, a var override, unit
    tests, docs)."""
    (block,) = section_blocks("## Workflow")
    run_block(clone, block)
    return clone


def section_blocks(title: str) -> list[guide.Block]:
    return [b for b in guide.shell_blocks() if b.section.startswith(title)]


def test_every_shell_block_of_the_guide_is_run_by_a_test() -> None:
    sections = [b.section for b in guide.shell_blocks()]
    assert sections == [
        "## Workflow",
        "## Incremental runs",
        "## Lint: sqlfluff",
        guide.WORKED_EXAMPLE + ": add a feature and see it reach the model",
    ]


def test_the_workflow_commands_run_as_written(workflow: Path) -> None:
    with duckdb.connect(str(workflow / "data" / "warehouse.duckdb"), read_only=True) as con:
        # the last build ran with long_gap_days 5: a long gap is one of 5 days or more
        long_gaps = con.execute(
            "select count(*), count(*) filter (where gap_days >= 5) "
            "from marts.fct_inactivity_gaps where is_long_gap"
        ).fetchone()
    assert long_gaps[0] > 0 and long_gaps[0] == long_gaps[1]
    assert (workflow / "dbt_project" / "target" / "catalog.json").exists()


def test_the_deep_property_test_command_selects_the_property_test() -> None:
    (block,) = section_blocks("## Incremental runs")
    output = run_block(REPO, block)  # paths of the repository's own tests
    assert "test_incremental_builds_equal_a_full_refresh" in output


def test_the_lint_command_is_the_one_the_suite_runs() -> None:
    (block,) = section_blocks("## Lint")
    assert block.body == guide.lint_command()


def test_the_worked_example_adds_a_feature_that_reaches_the_model(workflow: Path) -> None:
    clone = workflow
    for path, block in guide.worked_example_edits():
        edited = clone / "dbt_project" / path
        edited.write_text(guide.apply_edit(edited.read_text(), block))
    (block,) = section_blocks(guide.WORKED_EXAMPLE)
    run_block(clone, block)
    with duckdb.connect(str(clone / "data" / "warehouse.duckdb"), read_only=True) as con:
        values = con.execute(
            "select min(active_days_28d), max(active_days_28d), count(*) from marts.churn_features"
        ).fetchone()
    assert values[2] > 0 and 1 <= values[0] <= values[1] <= 28
    manifest = json.loads((clone / "dbt_project" / "target" / "manifest.json").read_text())
    columns = manifest["nodes"]["model.respawn.churn_features"]["columns"]
    assert "active_days_28d" in columns
