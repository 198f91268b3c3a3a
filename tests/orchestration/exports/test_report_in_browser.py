"""The game team's HTML report, opened in headless Chromium as a reader would open the file: its
plots render, its table lists the players at risk who are still reachable, the search filters it,
and nothing is fetched from anywhere. A screenshot is kept in test-artifacts/exports/ (git-ignored).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from orchestration.exports.layout import ExportFiles
from orchestration.exports.segments import at_risk, reachable
from tests.support.cdp import Browser, Page, headless_chromium

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "exports"
PLOTS = ("risk-distribution", "tiers-over-time", "top-drivers")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    with headless_chromium(tmp_path_factory.mktemp("chromium")) as b:
        yield b


@pytest.fixture
def report(exported: ExportFiles) -> ExportFiles:
    return exported


@pytest.fixture
def page(browser: Browser, report: ExportFiles) -> Iterator[Page]:
    p = browser.new_page()
    try:
        p.set_viewport(1280, 900)
        p.navigate(report.report.resolve().as_uri())
        p.wait_for("Array.from(document.images).every((i) => i.complete)")
        yield p
    finally:
        p.close()


def _visible_rows(page: Page) -> list[str]:
    return page.evaluate(
        "Array.from(document.querySelectorAll('#at-risk-table tbody tr'))"
        ".filter((r) => !r.hidden).map((r) => r.textContent)"
    )


def _search(page: Page, text: str) -> None:
    """Type into the search box as a user would: select what it holds, then type over it (or
    press Backspace to clear it)."""
    page.evaluate(
        "(() => { const s = document.getElementById('search'); s.focus(); s.select(); })()"
    )
    if text:
        page.send("Input.insertText", {"text": text})
        return
    for kind in ("keyDown", "keyUp"):
        key = {"key": "Backspace", "code": "Backspace", "windowsVirtualKeyCode": 8}
        page.send("Input.dispatchKeyEvent", {"type": kind, **key})


def test_the_report_shows_its_plots_as_images_of_nonzero_size(page: Page) -> None:
    for plot in PLOTS:
        size = page.evaluate(
            f"(() => {{ const i = document.getElementById('{plot}'); const r = "
            "i.getBoundingClientRect(); return [i.naturalWidth, i.naturalHeight, r.width, "
            "r.height, i.src.slice(0, 22)]; })()"
        )
        natural_w, natural_h, shown_w, shown_h, scheme = size
        assert natural_w > 100 and natural_h > 100, (plot, size)
        assert shown_w > 100 and shown_h > 100, (plot, size)
        assert scheme == "data:image/png;base64,"  # inline, nothing fetched


def test_the_table_lists_the_players_at_risk_still_reachable_and_the_search_filters_it(
    page: Page, report: ExportFiles
) -> None:
    scores = pd.read_parquet(report.scores_parquet)
    listed = scores[at_risk(scores) & reachable(scores)]
    rows = _visible_rows(page)
    assert len(rows) == len(listed) > 1
    assert page.evaluate("document.getElementById('shown').textContent") == (
        f"{len(listed):,} of {len(listed):,} shown"
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(ARTIFACTS / "report.png", full_page=True)

    player = listed["user_id"].iloc[1]
    _search(page, player[:13].upper())  # case-insensitive, a prefix
    assert [player in row for row in _visible_rows(page)] == [True]

    word = listed["reasons"].iloc[0].split()[1]
    _search(page, word)
    expected = int(listed["reasons"].str.lower().str.contains(word.lower(), regex=False).sum())
    assert len(_visible_rows(page)) >= expected >= 1
    assert all(word.lower() in row.lower() for row in _visible_rows(page))

    _search(page, "no such player or reason")
    assert _visible_rows(page) == []
    assert page.evaluate("document.getElementById('shown').textContent").startswith("0 of ")

    _search(page, "")
    assert len(_visible_rows(page)) == len(listed)


def test_the_report_loads_nothing_from_elsewhere(page: Page, report: ExportFiles) -> None:
    fetched = page.evaluate(
        "JSON.stringify(performance.getEntriesByType('resource').map((e) => e.name))"
    )
    assert json.loads(fetched) == []
    html = report.report.read_text()
    assert "<script src" not in html and "<link" not in html and "http" not in html
