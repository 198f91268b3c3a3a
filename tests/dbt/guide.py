"""The analytics engineers' guide (docs/analytics-engineers.md) as the tests read it: its code
blocks, in order, so that what the tests run is what the guide says."""

from __future__ import annotations

from tests.support import docs
from tests.support.docs import Block

GUIDE = "docs/analytics-engineers.md"
WORKED_EXAMPLE = "## Worked example"


def blocks(lang: str | None = None, text: str | None = None) -> list[Block]:
    return docs.blocks(GUIDE, lang, text)


def shell_blocks() -> list[Block]:
    return blocks("sh")


def lint_command() -> str:
    """The guide's command that lints the models (the suite runs it while dbt builds)."""
    (block,) = [b for b in shell_blocks() if b.section.startswith("## Lint")]
    return block.body


def worked_example_edits() -> list[tuple[str, Block]]:
    """The worked example's SQL and YAML blocks, with the file each one edits."""
    files = {"sql": "models/marts/churn_features.sql", "yaml": "models/marts/churn_features.yml"}
    return [
        (files[b.lang], b)
        for b in blocks()
        if b.section.startswith(WORKED_EXAMPLE) and b.lang in files
    ]


def apply_edit(text: str, block: Block) -> str:
    """The guide's convention: a block ends with a line already in the file; its other lines
    go just before that line. The line must be in the file exactly once."""
    *added, anchor = block.body.rstrip("\n").split("\n")
    count = text.count(anchor + "\n")
    assert count == 1, f"the guide's anchor line {anchor!r} is in the file {count} times"
    return text.replace(anchor + "\n", "\n".join([*added, anchor]) + "\n")
