"""Plots for the Dagster UI, as PNG bytes.

Figures are built with matplotlib's object API (`Figure` renders through the Agg canvas), never
pyplot: no display, no global figure state, safe inside a Dagster run's threads.
`markdown_image` wraps PNG bytes as a base64 data URI so Dagster renders them inside metadata.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve

from ml.evaluate import Candidate

_DPI = 90


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def markdown_image(png: bytes, title: str) -> str:
    return f"![{title}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def roc_png(labels: np.ndarray, candidates: dict[str, Candidate]) -> bytes:
    """ROC curves of every candidate on the same rows, with their AUC in the legend."""
    figure = Figure(figsize=(5.5, 4.5))
    axis = figure.subplots()
    for name, candidate in candidates.items():
        ranking = candidate.probability if candidate.ranking is None else candidate.ranking
        fpr, tpr, _ = roc_curve(labels, ranking)
        axis.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(labels, ranking):.3f})")
    axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    axis.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, evaluation")
    axis.legend(loc="lower right", fontsize=8)
    return _png(figure)


def calibration_png(tables: dict[str, pd.DataFrame]) -> bytes:
    """Reliability curves (mean predicted vs observed churn rate per bin)."""
    figure = Figure(figsize=(5.5, 4.5))
    axis = figure.subplots()
    axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect")
    for name, table in tables.items():
        axis.plot(table["mean_predicted"], table["observed_rate"], marker="o", label=name)
    axis.set(
        xlabel="mean predicted probability",
        ylabel="observed churn rate",
        title="Calibration, evaluation",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    axis.legend(loc="upper left", fontsize=8)
    return _png(figure)


def shap_summary_png(
    shap_values: np.ndarray, features: pd.DataFrame, top: int = 15, max_points: int = 2000
) -> bytes:
    """Beeswarm-style summary: one row per top feature, each dot a player, colour = value rank."""
    names = list(features.columns)
    contribs = shap_values[:, : len(names)]
    order = np.argsort(-np.abs(contribs).mean(axis=0), kind="stable")[:top][::-1]
    rng = np.random.default_rng(0)
    rows = np.sort(rng.permutation(contribs.shape[0])[:max_points])
    figure = Figure(figsize=(7, 0.35 * len(order) + 1.5))
    axis = figure.subplots()
    for y, column in enumerate(order):
        x = contribs[rows, column]
        value = features.iloc[rows, column].rank(pct=True).to_numpy()
        jitter = rng.uniform(-0.3, 0.3, size=x.size)
        axis.scatter(x, y + jitter, c=value, cmap="coolwarm", s=4, alpha=0.6, vmin=0, vmax=1)
    axis.axvline(0, color="grey", linewidth=0.8)
    axis.set_yticks(range(len(order)), [names[i] for i in order], fontsize=8)
    axis.set(xlabel="contribution to churn log-odds (TreeSHAP)", title="Top drivers")
    colorbar = figure.colorbar(axis.collections[0], ax=axis, pad=0.01)
    colorbar.set_label("feature value (rank)")
    return _png(figure)
