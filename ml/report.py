"""Human-readable summaries of a training run and of a scoring date, as markdown.

Used for the Dagster metadata and for printing at the end of the demo (markdown tables read fine
in a terminal too).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from ml.evaluate import HIGHER_IS_BETTER, MODEL
from ml.score_tables import REASONS_TABLE, SCORES_TABLE

_METRIC_LABELS = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "brier": "Brier score",
    "log_loss": "log loss",
    "precision_top10": "precision, top 10%",
    "recall_top10": "recall, top 10%",
    "lift_top10": "lift, top 10%",
    "churn_rate": "churn rate",
    "rows": "rows",
}


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], *, max_cell_chars: int | None = None
) -> str:
    """A markdown table; `|` is escaped and newlines flattened so that it stays a table, and cells
    longer than `max_cell_chars` (when given) are cut with an ellipsis."""

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        if max_cell_chars is not None and len(text) > max_cell_chars:
            text = text[: max_cell_chars - 1] + "…"
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def comparison_markdown(comparison: pd.DataFrame) -> str:
    """Metrics (rows) by candidate (columns); the best value of each metric in bold."""
    rows = []
    for metric in comparison.index:
        values = comparison.loc[metric]
        if metric in ("rows", "churn_rate"):
            shown = [f"{v:,.0f}" if metric == "rows" else f"{v:.2%}" for v in values]
        else:
            best = values.max() if metric in HIGHER_IS_BETTER else values.min()
            shown = [f"**{v:.4f}**" if v == best else f"{v:.4f}" for v in values]
        rows.append([_METRIC_LABELS.get(metric, metric), *shown])
    return markdown_table(["metric", *comparison.columns], rows)


def ranking_markdown(ranking: pd.DataFrame, top: int = 15) -> str:
    rows = [
        (i + 1, r.feature, f"{r.mean_abs_contribution:.4f}", f"{r.share:.1%}")
        for i, r in enumerate(ranking.head(top).itertuples())
    ]
    return markdown_table(["rank", "feature", "mean abs contribution", "share"], rows)


def calibration_markdown(table: pd.DataFrame) -> str:
    rows = [
        (
            f"{r.bin_low:.1f}-{r.bin_high:.1f}",
            f"{r.rows:,}",
            f"{r.mean_predicted:.3f}",
            f"{r.observed_rate:.3f}",
        )
        for r in table.itertuples()
    ]
    return markdown_table(["probability bin", "rows", "mean predicted", "observed rate"], rows)


def drift_markdown(drift: pd.DataFrame, top: int = 15) -> str:
    rows = [
        (r.feature, f"{r.psi:.3f}", "yes" if r.drifted else "")
        for r in drift.head(top).itertuples()
    ]
    return markdown_table(["feature", "PSI", "above 0.2"], rows)


def most_at_risk(
    con: duckdb.DuckDBPyConnection, scoring_date: date | None = None, n: int = 10
) -> pd.DataFrame:
    """The `n` players most at risk on `scoring_date` (default: the latest), with reasons."""
    return con.execute(
        f"""
        WITH d AS (
            SELECT coalesce(?::DATE, (SELECT max(scoring_date) FROM {SCORES_TABLE})) AS day
        )
        SELECT s.risk_rank, s.user_id, s.churn_probability, s.risk_tier,
               string_agg(r.reason, '; ' ORDER BY r.reason_rank) AS reasons
        FROM {SCORES_TABLE} s
        JOIN d ON s.scoring_date = d.day
        LEFT JOIN {REASONS_TABLE} r USING (scoring_date, user_id)
        WHERE s.risk_rank <= ?
        GROUP BY ALL
        ORDER BY s.risk_rank
        """,
        [scoring_date, n],
    ).df()


def at_risk_markdown(frame: pd.DataFrame) -> str:
    rows = [
        (
            r.risk_rank,
            r.user_id,
            f"{r.churn_probability:.1%}",
            r.risk_tier,
            r.reasons or "",
        )
        for r in frame.itertuples()
    ]
    return markdown_table(["rank", "player", "churn probability", "tier", "reasons"], rows)


def headline(comparison: pd.DataFrame, baseline: str) -> str:
    """One line: the model's ROC-AUC against a baseline's."""
    model, other = comparison.loc["roc_auc", MODEL], comparison.loc["roc_auc", baseline]
    return f"ROC-AUC {model:.4f} vs {other:.4f} ({baseline})"
