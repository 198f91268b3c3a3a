"""What a data engineer sees after `make demo`: the Dagster UI, served on the demo's own instance,
shows each plot of the `churn_model` and `churn_scores` asset pages as an image on the page, with
no click ("Show Markdown") in between. Checked in headless Chromium on the real UI; the
screenshots are kept in test-artifacts/ui/ for a human to look at."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.docs.demo import Demo
from tests.docs.shell import REPO, environment, serving
from tests.support.cdp import Page, headless_chromium
from tests.support.ingestor import free_port

ARTIFACTS = REPO / "test-artifacts" / "ui"
# asset page → the titles (alt texts) of the plots its latest materialization carries
PLOTS = {
    "churn_model": {"ROC", "calibration", "top drivers"},
    "churn_scores": {"risk distribution"},
}
RENDERED = (
    "Array.from(document.images)"
    ".filter((i) => i.src.startsWith('data:image/svg+xml') && i.complete && i.naturalWidth > 0)"
    ".map((i) => i.alt)"
)


@dataclass(frozen=True)
class DagsterUI:
    url: str
    page: Page


@pytest.fixture(scope="module")
def ui(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterUI]:
    """The Dagster UI on the demo's instance and code location, and a browser page on it."""
    tmp = tmp_path_factory.mktemp("dagster-ui")
    port = free_port()
    env = environment(RESPAWN_HOME=str(demo.home), DAGSTER_HOME=str(demo.home / "dagster"))
    command = f"dagster-webserver -w workspace.yaml -h 127.0.0.1 -p {port}"
    url = f"http://127.0.0.1:{port}"
    with (
        serving(command, REPO, env, f"{url}/server_info", tmp / "webserver.log"),
        headless_chromium(tmp / "chromium") as browser,
    ):
        page = browser.new_page()
        page.set_viewport(1400, 2400)
        yield DagsterUI(url, page)
        page.close()


@pytest.mark.parametrize("asset", sorted(PLOTS))
def test_the_asset_page_shows_its_plots_without_a_click(ui: DagsterUI, asset: str) -> None:
    ui.page.navigate(f"{ui.url}/assets/{asset}", timeout=60)
    shown = _plots_shown(ui.page, PLOTS[asset])
    _dismiss_the_welcome_dialog(ui.page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ui.page.screenshot(ARTIFACTS / f"{asset}.png", full_page=True)
    assert shown >= PLOTS[asset], f"{asset}: plots rendered on the page: {sorted(shown)}"


def _plots_shown(page: Page, expected: set[str]) -> set[str]:
    """The alt texts of the inline SVG images rendered on the page, once all expected are there
    (or what is there after a minute: the UI loads the materialization's metadata lazily)."""
    wanted = ", ".join(f"'{title}'" for title in sorted(expected))
    with contextlib.suppress(TimeoutError):  # the assertion then names what is missing
        page.wait_for(f"[{wanted}].every((t) => {RENDERED}.includes(t))", timeout=60)
    return set(page.evaluate(RENDERED))


def _dismiss_the_welcome_dialog(page: Page) -> None:
    """A first visit opens Dagster's newsletter dialog over the page; a reader clicks Skip."""
    page.evaluate(
        "Array.from(document.querySelectorAll('button'))"
        ".filter((b) => b.innerText.trim() === 'Skip').forEach((b) => b.click())"
    )
