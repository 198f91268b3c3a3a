"""The plots the Dagster UI shows on the asset page: each is markdown short enough for the UI to
render in place (dagster-ui: `mdStr.length < 1000`), and its SVG renders in headless Chromium as
an image of nonzero size. (The asset pages themselves, in the real UI after `make demo`:
tests/docs/test_demo_in_the_dagster_ui.py, screenshots in test-artifacts/ui/.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from ml.evaluate import Candidate
from orchestration.inline_plots import (
    UI_INLINE_LIMIT,
    calibration_plot,
    drivers_plot,
    histogram_plot,
    roc_plot,
)
from tests.support.cdp import Page, headless_chromium

RNG = np.random.default_rng(3)
ROWS = 3_400  # the size of the demo's evaluation slice


def _plots() -> dict[str, dg.MetadataValue]:
    labels = RNG.integers(0, 2, ROWS)
    model = np.clip(0.35 * labels + 0.65 * RNG.random(ROWS), 0, 1)
    candidates = {
        "model": Candidate(model),
        "recency_rule": Candidate(RNG.random(ROWS), ranking=RNG.random(ROWS)),
        "logistic_regression": Candidate(np.clip(0.2 * labels + 0.8 * RNG.random(ROWS), 0, 1)),
    }
    bins = np.linspace(0.05, 0.95, 10)
    calibration = pd.DataFrame({"mean_predicted": bins, "observed_rate": bins * 0.9})
    ranking = pd.DataFrame(
        {
            "feature": [f"disconnects_network_{d}d_{i}" for i, d in enumerate(range(1, 16))],
            "mean_abs_contribution": np.linspace(0.5, 0.01, 15),
        }
    )
    return {
        "roc": roc_plot(labels, candidates),
        "calibration": calibration_plot(
            {"model (calibrated)": calibration, "model before calibration": calibration * 0.8}
        ),
        "drivers": drivers_plot(ranking),
        "histogram": histogram_plot(RNG.beta(1, 4, 150_000), marks={"Medium": 0.2, "High": 0.5}),
    }


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    with headless_chromium(tmp_path_factory.mktemp("chromium")) as browser:
        p = browser.new_page()
        yield p
        p.close()


def test_each_plot_fits_in_what_the_ui_renders_in_place_and_renders_as_an_image(
    page: Page, tmp_path: Path
) -> None:
    plots = _plots()
    images = []
    for name, plot in plots.items():
        text = plot.value
        assert isinstance(plot, dg.MarkdownMetadataValue), name
        assert len(text) < UI_INLINE_LIMIT and text.isascii(), (name, len(text))
        match = re.fullmatch(r"!\[[^\]]*\]\(<(data:image/svg\+xml,[^<>]+)>\)", text)
        assert match, (name, text[:80])
        images.append(f'<img id="{name}" src="{match.group(1)}">')
    html = tmp_path / "plots.html"
    html.write_text("<!doctype html><body>" + "".join(images) + "</body>")
    page.navigate(html.as_uri())
    page.wait_for("Array.from(document.images).every((i) => i.complete)")
    sizes = page.evaluate(
        "Array.from(document.images).map((i) => [i.id, i.naturalWidth, i.naturalHeight])"
    )
    assert [s[0] for s in sizes] == list(plots)
    assert all(w >= 300 and h >= 250 for _, w, h in sizes), sizes


def test_a_plot_with_too_much_to_show_in_place_is_still_drawn_never_an_error() -> None:
    labels = RNG.integers(0, 2, 500)
    many = {f"candidate number {i} with a long name": Candidate(RNG.random(500)) for i in range(9)}
    plot = roc_plot(labels, many)
    assert plot.value.startswith("![ROC](<data:image/svg+xml,")  # shown behind the UI's link
