"""The project's documentation as the tests read it: the fenced code blocks of README.md and
docs/*.md, each with the heading it sits under, so that what a test runs is what a page says."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"^```(?P<lang>\w+)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
_HEADING = re.compile(r"^## .*$", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository, e.g. "docs/data-engineers.md"
    lang: str
    body: str
    section: str  # the `## ` heading it sits under, with its hashes

    @property
    def commands(self) -> list[str]:
        return [line for line in self.body.splitlines() if line.strip()]


def pages() -> list[str]:
    """Every page of documentation a newcomer reads."""
    return ["README.md", *sorted(f"docs/{p.name}" for p in (REPO / "docs").glob("*.md"))]


def blocks(page: str, lang: str | None = None, text: str | None = None) -> list[Block]:
    text = (REPO / page).read_text() if text is None else text
    found = []
    for match in _BLOCK.finditer(text):
        headings = _HEADING.findall(text[: match.start()])
        block = Block(page, match["lang"], match["body"], headings[-1] if headings else "")
        if lang is None or block.lang == lang:
            found.append(block)
    return found


def section_block(page: str, heading: str, lang: str = "sh") -> Block:
    """The one `lang` block under the heading that starts with `heading`."""
    found = [b for b in blocks(page, lang) if b.section.startswith(heading)]
    assert len(found) == 1, f"{page}: {len(found)} {lang} blocks under {heading!r}"
    return found[0]
