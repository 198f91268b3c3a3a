"""README.md's "Two commands" and the game team's scoring commands (docs/game-team.md) work as
written. `make demo` runs once, as the README has it, on a temporary RESPAWN_HOME (so that the
test never writes into the repository's data/); the game team's commands then run on the data it
made, with the page's example date 2026-03-01 replaced by a snapshot date that data has. The
README's `make test` is the command CI runs (.ci/run): running it inside itself would recurse."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import yaml

from tests.docs.demo import Demo, readme_commands
from tests.docs.shell import REPO, environment, run
from tests.support.docs import section_block

GAME_TEAM = "docs/game-team.md"
EXAMPLE_DATE = "2026-03-01"


def test_make_demo_runs_the_main_job_and_prints_its_report(demo: Demo) -> None:
    for heading in ("## Delivery", "## Marts", "## Churn model", "## Asset checks"):
        assert heading in demo.output, f"the demo's report lacks {heading!r}"
    # the model beside its baselines per tenure cohort and in the new-player setting (issue 14)
    for part in ("ROC-AUC by tenure cohort", "New players: the first", "on the test players"):
        assert part in demo.output, f"the demo's report lacks {part!r}"
    with duckdb.connect(str(demo.home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_sessions").fetchone()[0] > 0


def test_make_test_is_the_command_ci_runs() -> None:
    _, make_test = readme_commands()
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert make_test in [line.strip() for line in ci]


def _latest_snapshot(home: Path) -> str:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        (latest,) = con.execute("select max(snapshot_date) from marts.churn_features").fetchone()
    return latest.isoformat()


def _scored(home: Path) -> set[tuple[str, str]]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("select distinct scope, scoring_date from ml.churn_scores").fetchall()
    return {(scope, day.isoformat()) for scope, day in rows}


def test_the_game_teams_scoring_commands_score_a_date_and_a_cohort(demo: Demo) -> None:
    """## Scoring a date or a cohort — every command, in order."""
    block = section_block(GAME_TEAM, "## Scoring a date or a cohort")
    day = _latest_snapshot(demo.home)
    env = environment(RESPAWN_HOME=str(demo.home))
    for command in block.commands:
        output = run(command.replace(EXAMPLE_DATE, day), REPO, env, timeout=900)
        assert "failed" not in output.lower(), output
    scored = _scored(demo.home)
    assert ("snapshot", day) in scored
    assert {scope for scope, _ in scored} >= {"snapshot", "tenure_day_3"}


def test_the_launchpad_config_of_the_game_team_page_is_valid_for_the_scoring_job(
    tmp_path: Path,
) -> None:
    from orchestration.definitions import build_definitions
    from orchestration.ml.definitions import SCORING_JOB

    block = section_block(GAME_TEAM, "## Scoring a date or a cohort", lang="yaml")
    config = yaml.safe_load(block.body)
    job = build_definitions(tmp_path).resolve_job_def(SCORING_JOB)
    dg.validate_run_config(job, config)
