"""The README's `make demo`, run once for every test that reads what it made: the demo's report,
the game team's commands on its data, and its runs in the Dagster UI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.docs.shell import REPO, environment, run
from tests.support.docs import section_block

README = "README.md"


@dataclass(frozen=True)
class Demo:
    home: Path  # the RESPAWN_HOME it ran on (Dagster's instance is home/dagster)
    output: str


def readme_commands() -> list[str]:
    """## Two commands: `make demo` and `make test`, as the README has them."""
    block = section_block(README, "## Two commands")
    commands = [line.split("#")[0].strip() for line in block.commands]
    assert commands == ["make demo", "make test"]
    return commands


def run_demo(home: Path) -> Demo:
    make_demo, _ = readme_commands()
    return Demo(home, run(make_demo, REPO, environment(RESPAWN_HOME=str(home)), timeout=1200))
