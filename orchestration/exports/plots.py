"""The HTML report's plots, as PNG data URIs for an `<img src>`: the risk distribution, the tiers
over time, the top drivers among the players at risk.

matplotlib's object API (a `Figure` renders through the Agg canvas), never pyplot: no display and
no global state, safe inside a Dagster run.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter, StrMethodFormatter

from ml.score import HIGH_RISK, MEDIUM_RISK, TIERS
from orchestration.exports.segments import at_risk

TIER_COLOURS = {"High": "#c0392b", "Medium": "#e67e22", "Low": "#7f8c8d"}
_DPI = 96


def _data_uri(figure: Figure) -> str:
    """The figure as an inline PNG: the report loads nothing from anywhere."""
    with io.BytesIO() as buffer:
        figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
        return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def risk_distribution_png(scores: pd.DataFrame) -> str:
    """Players by churn probability (2% bins), coloured by tier, with the tier cut-offs."""
    figure = Figure(figsize=(6.4, 3.4))
    axis = figure.subplots()
    edges = np.linspace(0, 1, 51)
    for tier in reversed(TIERS):
        values = scores.loc[scores["risk_tier"] == tier, "churn_probability"]
        axis.hist(values, bins=edges, color=TIER_COLOURS[tier], label=f"{tier} ({len(values):,})")
    for cut in (MEDIUM_RISK, HIGH_RISK):
        axis.axvline(cut, color="black", linestyle=":", linewidth=1)
    axis.xaxis.set_major_formatter(PercentFormatter(1.0))
    axis.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axis.set(xlabel="churn probability", ylabel="players", xlim=(0, 1))
    axis.legend(fontsize=8)
    return _data_uri(figure)


def tiers_over_time_png(tiers: pd.DataFrame) -> str:
    """Players per tier on every scoring date so far (stacked bars)."""
    table = (
        tiers.pivot_table(
            index="scoring_date", columns="risk_tier", values="players", aggfunc="sum"
        )
        .reindex(columns=list(TIERS))
        .fillna(0)
    )
    figure = Figure(figsize=(6.4, 3.4))
    axis = figure.subplots()
    labels = [f"{pd.Timestamp(d):%m-%d}" for d in table.index]
    bottom = np.zeros(len(table))
    for tier in reversed(TIERS):
        counts = table[tier].to_numpy()
        axis.bar(labels, counts, bottom=bottom, color=TIER_COLOURS[tier], label=tier)
        bottom += counts
    axis.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    axis.set(xlabel="scoring date", ylabel="players")
    axis.tick_params(axis="x", labelrotation=45 if len(labels) > 8 else 0, labelsize=8)
    axis.legend(fontsize=8, loc="upper left")
    return _data_uri(figure)


def top_drivers(scores: pd.DataFrame, reasons: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """The features most often among the reasons of the players at risk, with the share of those
    players they concern and their mean contribution (log-odds)."""
    risky = set(scores.loc[at_risk(scores), "user_id"])
    rows = reasons[reasons["user_id"].isin(risky)]
    if rows.empty:
        return pd.DataFrame(columns=["feature", "players", "share", "mean_contribution"])
    grouped = rows.groupby("feature").agg(
        players=("user_id", "nunique"), mean_contribution=("contribution", "mean")
    )
    grouped["share"] = grouped["players"] / len(risky)
    ordered = grouped.sort_values(["players", "mean_contribution"], ascending=False)
    return ordered.head(top).reset_index()[["feature", "players", "share", "mean_contribution"]]


def top_drivers_png(drivers: pd.DataFrame) -> str:
    """Horizontal bars: the share of the players at risk that each driver concerns."""
    figure = Figure(figsize=(6.4, 0.32 * max(len(drivers), 3) + 1.2))
    axis = figure.subplots()
    ordered = drivers.iloc[::-1]
    axis.barh(ordered["feature"], ordered["share"], color="#2c7fb8")
    for y, (share, players) in enumerate(zip(ordered["share"], ordered["players"], strict=True)):
        axis.text(share, y, f" {players:,}", va="center", fontsize=8)
    axis.xaxis.set_major_formatter(PercentFormatter(1.0))
    axis.set(xlabel="share of the players at risk with this reason", xlim=(0, 1.1))
    axis.tick_params(axis="y", labelsize=8)
    return _data_uri(figure)
