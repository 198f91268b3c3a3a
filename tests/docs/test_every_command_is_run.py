"""Every shell block of the documentation is run by a test, so that no page can drift from the
code: each (page, section) that holds a `sh` block is claimed below by the test module that runs
it, and that module names the page and the section it reads. A new block fails here until a test
runs it."""

from __future__ import annotations

from tests.support.docs import REPO, blocks, pages

DATA_ENGINEERS = "tests/docs/test_data_engineers.py"
README_AND_GAME_TEAM = "tests/docs/test_readme_and_game_team.py"
RUN_BY = {
    ("README.md", "## Two commands"): README_AND_GAME_TEAM,
    ("docs/analytics-engineers.md", "## Workflow"): "tests/dbt/test_guide.py",
    ("docs/analytics-engineers.md", "## Incremental runs"): "tests/dbt/test_guide.py",
    ("docs/analytics-engineers.md", "## Lint: sqlfluff"): "tests/dbt/test_guide.py",
    ("docs/analytics-engineers.md", "## Worked example"): "tests/dbt/test_guide.py",
    ("docs/data-engineers.md", "## The Dagster UI: `make dev`"): DATA_ENGINEERS,
    ("docs/data-engineers.md", "## Dagster on Postgres in production"): (
        "tests/orchestration/test_postgres_instance.py"
    ),
    ("docs/data-engineers.md", "## Running the dbt project on Spark"): (
        "tests/spark/test_dbt_on_spark.py"
    ),
    ("docs/data-engineers.md", "## Running the ingestor in production"): DATA_ENGINEERS,
    ("docs/data-engineers.md", "## Bring your history"): (
        "tests/ingestion/history/test_history_pipeline.py"
    ),
    ("docs/data-engineers.md", "## Test data: `respawn simulate`"): DATA_ENGINEERS,
    ("docs/data-engineers.md", "## Landing on object storage"): "tests/s3/test_docs.py",
    ("docs/game-team.md", "## Scoring a date or a cohort"): README_AND_GAME_TEAM,
}


def _claim(page: str, section: str) -> tuple[str, str] | None:
    for (claimed_page, heading), _ in RUN_BY.items():
        if claimed_page == page and section.startswith(heading):
            return claimed_page, heading
    return None


def test_every_shell_block_of_every_page_is_claimed_by_a_test() -> None:
    unclaimed = [
        f"{b.page}: {b.section}"
        for page in pages()
        for b in blocks(page, "sh")
        if _claim(page, b.section) is None
    ]
    assert not unclaimed, f"shell blocks no test runs (add a test, then claim it here): {unclaimed}"


def test_every_claim_is_a_block_that_exists_and_a_test_that_reads_it() -> None:
    present = {_claim(page, b.section) for page in pages() for b in blocks(page, "sh")}
    for (page, heading), module in RUN_BY.items():
        assert (page, heading) in present, f"{page} has no shell block under {heading!r}"
        source = " ".join((REPO / module).read_text().split())  # a title may wrap
        title = heading.removeprefix("## ")
        assert page in source and title in source, f"{module} does not read {page}: {title}"
