"""Plots that the Dagster UI shows on the asset page itself, without a click.

How Dagster 1.13's UI renders metadata (dagster-ui `MetadataEntry.tsx`): on the asset's overview
and in a run's event log a markdown entry is rendered in place only when its text is shorter
than 1,000 characters; a longer one (any PNG as a base64 data URI) becomes a "[Show Markdown]"
link to a dialog. Images in that markdown may be `data:` URIs (its sanitizer allows them).

So a plot shown in place is a small SVG: a few polylines, bars and labels on a 100 x 100 grid,
percent-encoded into a `data:image/svg+xml` URI, the whole entry under the limit. Each builder
draws the detailed version first and simplifies (fewer points, fewer bars) until it fits.
The full-size PNGs (`ml.plots`) stay where a reader wants the detail, behind the link.

    "ROC": roc_plot(labels, candidates)                   # in place of markdown_image(roc_png(...))
    "risk distribution": histogram_plot(probabilities, marks={"Medium": 0.2, "High": 0.5})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import dagster as dg
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from ml.evaluate import Candidate

# dagster-ui renders a markdown entry in place when `mdStr.length < 1000` (UTF-16 units: every
# character written here is ASCII).
UI_INLINE_LIMIT = 1000
COLOURS = ("crimson", "teal", "darkorange", "slateblue")
_AXIS = "<path d='M0 0V100H100' stroke='gray' fill='none'/>"


def _n(value: float) -> str:
    """A coordinate on the 100 x 100 grid: one decimal at most, no trailing zeros."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _text(x: float, y: float, text: str, attributes: str = "") -> str:
    safe = "".join(c for c in text if c.isascii() and c not in "<>&%#'\"")
    return f"<text x='{_n(x)}' y='{_n(y)}'{attributes}>{safe}</text>"


def _polyline(points: Sequence[tuple[float, float]], colour: str) -> str:
    coords = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
    return f"<polyline points='{coords}' fill='none' stroke='{colour}'/>"


def svg_markdown(body: str, title: str, *, view_box: str = "-12 -4 116 118") -> str:
    """The markdown of one SVG image (a percent-encoded data URI); `title` is its alt text (the
    metadata entry's label titles it in the UI). Text is 5 units high unless said otherwise."""
    svg = (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='{view_box}' width='330' "
        f"font-size='5' font-family='sans-serif'>{body}</svg>"
    )
    encoded = svg.replace("%", "%25").replace("<", "%3C").replace(">", "%3E").replace("#", "%23")
    return f"![{title}](<data:image/svg+xml,{encoded}>)"


def fit_inline(draw: Callable[[int], str], details: Sequence[int]) -> dg.MetadataValue:
    """The most detailed of `draw(detail)` (markdown) that the UI renders in place; if none fits
    (many curves with long names), the simplest, which the UI then shows behind its link: a plot
    never fails the asset that draws it."""
    markdown = ""
    for detail in details:
        markdown = draw(detail)
        if len(markdown) < UI_INLINE_LIMIT:
            break
    return dg.MetadataValue.md(markdown)


def _colour(index: int) -> str:
    return COLOURS[index % len(COLOURS)]


def _to_grid(x: float, y: float) -> tuple[float, float]:
    """Unit square (0..1, 0..1, y up) to the SVG grid (0..100, y down)."""
    return 100 * x, 100 - 100 * y


def _legend(rows: Sequence[str], y: float) -> str:
    """Right-aligned lines in the colours of the curves, from height `y` down."""
    lines = "".join(
        _text(98, y + 7 * i, row, f" fill='{_colour(i)}'") for i, row in enumerate(rows)
    )
    return f"<g text-anchor='end'>{lines}</g>"


def _unit_axes(x_label: str, y_label: str) -> str:
    """Axes of the unit square, the diagonal, and the axis names."""
    return (
        _AXIS
        + "<path d='M0 100L100 0' stroke='silver'/>"
        + _text(44, 108, x_label)
        + _text(-11, 52, y_label)
    )


def roc_plot(labels: np.ndarray, candidates: Mapping[str, Candidate]) -> dg.MetadataValue:
    """ROC curves of the candidates on the same rows, their AUC in the legend (as `roc_png`)."""
    curves = []
    for name, candidate in candidates.items():
        ranking = candidate.probability if candidate.ranking is None else candidate.ranking
        fpr, tpr, _ = roc_curve(labels, ranking)
        curves.append((name, float(roc_auc_score(labels, ranking)), fpr, tpr))

    def draw(points: int) -> str:
        # denser where the curves bend: at low false positive rates
        grid = np.unique(np.concatenate([[0.0], np.geomspace(0.01, 1.0, points - 1)]))
        lines = [
            _polyline(
                [_to_grid(x, y) for x, y in zip(grid, np.interp(grid, fpr, tpr), strict=True)],
                _colour(i),
            )
            for i, (_, _, fpr, tpr) in enumerate(curves)
        ]
        legend = _legend([f"{name} {auc:.3f}" for name, auc, _, _ in curves], 98 - 7 * len(curves))
        return svg_markdown(_unit_axes("FPR", "TPR") + "".join(lines) + legend, "ROC")

    return fit_inline(draw, (14, 12, 10, 8, 6, 4))


def calibration_plot(tables: Mapping[str, pd.DataFrame]) -> dg.MetadataValue:
    """Reliability curves: mean predicted against observed churn rate per bin (as
    `calibration_png`; each table has the columns `mean_predicted` and `observed_rate`)."""

    def draw(max_bins: int) -> str:
        lines = []
        for i, table in enumerate(tables.values()):
            rows = table[["mean_predicted", "observed_rate"]].dropna().to_numpy()
            step = max(1, int(np.ceil(len(rows) / max_bins)))
            kept = rows[::step]
            lines.append(_polyline([_to_grid(x, y) for x, y in kept], _colour(i)))
        legend = _legend(list(tables), 98 - 7 * len(tables))
        body = _unit_axes("predicted", "observed") + "".join(lines) + legend
        return svg_markdown(body, "calibration")

    return fit_inline(draw, (20, 12, 8, 5))


def bars_plot(values: Mapping[str, float], title: str, value_format: str = "{:.3f}") -> str:
    """Horizontal bars in the given order, labelled with their name and value (markdown)."""
    if not values:
        return svg_markdown(_text(30, 50, "nothing to show"), title)
    largest = max(values.values()) or 1.0
    step = 100 / len(values)
    bars, names, labels = [], [], []
    for i, (name, value) in enumerate(values.items()):
        # names right-aligned up to x=57 (about 20 characters), bars from 59, values after them
        y, width = i * step, 30 * value / largest
        bars.append(f"M59 {_n(y)}h{_n(width)}v{_n(step * 0.7)}H59z")
        names.append(_text(57, y + step * 0.5, name[:22]))
        labels.append(_text(60 + width, y + step * 0.5, value_format.format(value)))
    body = (
        f"<path d='{''.join(bars)}' fill='steelblue'/>"
        f"<g text-anchor='end'>{''.join(names)}</g>{''.join(labels)}"
    )
    return svg_markdown(body, title, view_box="-2 -4 106 108")


def drivers_plot(ranking: pd.DataFrame) -> dg.MetadataValue:
    """The top churn drivers as bars of mean |TreeSHAP contribution| (`ranking` has the columns
    `feature` and `mean_abs_contribution`, as `ml.explain`'s global ranking)."""
    ordered = ranking.sort_values("mean_abs_contribution", ascending=False, kind="stable")

    def draw(top: int) -> str:
        rows = ordered.head(top)
        values = dict(
            zip(rows["feature"], rows["mean_abs_contribution"].astype(float), strict=True)
        )
        return bars_plot(values, "top drivers")

    return fit_inline(draw, (10, 9, 8, 7, 6, 5, 4, 3))


def histogram_plot(
    values: Sequence[float] | np.ndarray,
    *,
    marks: Mapping[str, float] | None = None,
    title: str = "risk distribution",
    value_range: tuple[float, float] = (0.0, 1.0),
) -> dg.MetadataValue:
    """A histogram of `values` over `value_range`, with labelled vertical marks (e.g. the tier
    cut-offs) and the count of the fullest bin."""
    data = np.asarray(values, dtype=float)
    low, high = value_range

    def draw(bins: int) -> str:
        counts, _ = np.histogram(data, bins=bins, range=value_range)
        tallest = max(int(counts.max()) if counts.size else 0, 1)
        steps = "".join(f"V{_n(100 - 100 * c / tallest)}h{_n(100 / bins)}" for c in counts)
        body = [f"<path d='M0 100{steps}V100z' fill='steelblue'/>", _AXIS]
        for i, (name, at) in enumerate((marks or {}).items()):
            x = 100 * (at - low) / (high - low)
            body.append(f"<path d='M{_n(x)} 0V100' stroke='crimson'/>")
            body.append(_text(x + 1, 6 + 7 * i, f"{name} {at:g}", " fill='crimson'"))
        body += [
            _text(0, 106, f"{low:g}"),
            _text(96, 106, f"{high:g}"),
            f"<g text-anchor='end'>{_text(-1, 4, f'{tallest:,}')}</g>",
            _text(30, 112, f"{data.size:,} values"),
        ]
        return svg_markdown("".join(body), title)

    return fit_inline(draw, (50, 40, 30, 20, 10))
