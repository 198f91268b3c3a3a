"""Human-readable summaries of a training run and of a scoring date, as markdown.

Used for the Dagster metadata and for printing at the end of the demo (markdown tables read fine
in a terminal too).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ml.evaluate import HIGHER_IS_BETTER, LOGISTIC, MODEL, RECENCY
from ml.score import LAPSED, REACHABLE, SNAPSHOT_SCOPE, TIERS
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


def _day_filter(scope: str) -> str:
    """Rows of the asked date, else of the scope's latest; a tenure cohort without a date: all
    of its dates (its ranks span them)."""
    every_date = "TRUE" if scope != SNAPSHOT_SCOPE else "FALSE"
    return f"""(
        ({every_date} AND ?::DATE IS NULL)
        OR s.scoring_date = coalesce(
            ?::DATE, (SELECT max(scoring_date) FROM {SCORES_TABLE} WHERE scope = s.scope)
        )
    )"""


def most_at_risk(
    con: duckdb.DuckDBPyConnection,
    scoring_date: date | None = None,
    n: int = 10,
    segment: str | None = REACHABLE,
    scope: str = SNAPSHOT_SCOPE,
) -> pd.DataFrame:
    """The `n` players most at risk of `segment` (default: the reachable ones; None: everyone)
    on `scoring_date` (default: the latest of `scope`), with their reasons, by rank."""
    rank = "segment_rank" if segment is not None else "risk_rank"
    return con.execute(
        f"""
        SELECT s.{rank} AS rank, s.scoring_date, s.user_id, s.churn_probability, s.risk_tier,
               s.segment, s.days_since_last_session, s.scored_with,
               string_agg(r.reason, '; ' ORDER BY r.reason_rank) AS reasons
        FROM {SCORES_TABLE} s
        LEFT JOIN {REASONS_TABLE} r USING (scope, scoring_date, user_id)
        WHERE s.scope = ? AND {_day_filter(scope)}
          AND (?::VARCHAR IS NULL OR s.segment = ?) AND s.{rank} <= ?
        GROUP BY ALL
        ORDER BY s.{rank}
        """,
        [scope, scoring_date, scoring_date, segment, segment, n],
    ).df()


def segment_counts(
    con: duckdb.DuckDBPyConnection, scoring_date: date | None = None, scope: str = SNAPSHOT_SCOPE
) -> pd.DataFrame:
    """Players per segment and tier on `scoring_date` (default: the latest of `scope`)."""
    return con.execute(
        f"""
        SELECT segment, risk_tier, count(*) AS players
        FROM {SCORES_TABLE} s
        WHERE s.scope = ? AND {_day_filter(scope)}
        GROUP BY ALL ORDER BY ALL
        """,
        [scope, scoring_date, scoring_date],
    ).df()


def probability_text(probability: float) -> str:
    """A calibrated probability as a whole percent: "97%" (scores lie in 1%-99%)."""
    return f"{round(100 * float(probability))}%"


def days_ago_text(days: int) -> str:
    return "today" if days == 0 else "yesterday" if days == 1 else f"{days} days ago"


def at_risk_markdown(frame: pd.DataFrame) -> str:
    rows = [
        (
            r.rank,
            r.user_id,
            probability_text(r.churn_probability),
            r.risk_tier,
            days_ago_text(int(r.days_since_last_session)),
            r.reasons or "",
        )
        for r in frame.itertuples()
    ]
    return markdown_table(
        ["rank", "player", "churn probability", "tier", "last session", "reasons"], rows
    )


def segments_markdown(counts: pd.DataFrame, reachable_days: int) -> str:
    """Players per segment (rows) and tier (columns), with what each segment means."""
    meaning = {
        REACHABLE: f"played in the last {reachable_days} days: act now",
        LAPSED: "away longer: win-back",
    }
    rows = []
    for segment in (REACHABLE, LAPSED):
        tiers = counts[counts["segment"] == segment].set_index("risk_tier")["players"]
        rows.append(
            [
                f"{segment} ({meaning[segment]})",
                *(f"{int(tiers.get(tier, 0)):,}" for tier in TIERS),
                f"{int(tiers.sum()):,}",
            ]
        )
    return markdown_table(["segment", *TIERS, "all"], rows)


def headline(comparison: pd.DataFrame, baseline: str) -> str:
    """One line: the model's ROC-AUC against a baseline's."""
    model, other = comparison.loc["roc_auc", MODEL], comparison.loc["roc_auc", baseline]
    return f"ROC-AUC {model:.4f} vs {other:.4f} ({baseline})"


_RULES = {RECENCY: "the recency rule", LOGISTIC: "the logistic regression"}


def verdict(roc_auc: dict[str, float]) -> str:
    """Whether the model beats both baselines on ROC-AUC, said plainly."""
    model = roc_auc[MODEL]
    lost = [name for name in (RECENCY, LOGISTIC) if not model > roc_auc[name]]
    figures = ", ".join(f"{_RULES[name]} {roc_auc[name]:.3f}" for name in (RECENCY, LOGISTIC))
    if not lost:
        return f"The model beats both baselines: ROC-AUC {model:.3f} ({figures})."
    return (
        f"The model does NOT beat {', nor '.join(_RULES[name] for name in lost)}: ROC-AUC "
        f"{model:.3f} ({figures})."
    )


def _finite(value: float | None) -> bool:
    return value is not None and bool(np.isfinite(value))


def _auc_text(value: float | None) -> str:
    return f"{value:.3f}" if _finite(value) else "too few to say"


def cohort_markdown(cohorts: pd.DataFrame | list[dict[str, Any]]) -> str:
    """ROC-AUC per tenure cohort of the evaluation slice, the model beside both baselines."""
    frame = pd.DataFrame(cohorts)
    rows = []
    for r in frame.to_dict(orient="records"):
        values = [r.get(name) for name in (MODEL, RECENCY, LOGISTIC)]
        if not all(_finite(v) for v in values):
            said = ""
        else:
            pairs = zip((RECENCY, LOGISTIC), values[1:], strict=True)
            lost = [_RULES[name] for name, value in pairs if values[0] <= value]
            said = (
                "beats both"
                if not lost
                else "beats neither"
                if len(lost) == 2
                else f"does not beat {lost[0]}"
            )
        rows.append(
            [
                r["cohort"],
                f"{int(r['rows']):,}",
                f"{r['churn_rate']:.0%}" if _finite(r["churn_rate"]) else "",
                *(_auc_text(v) for v in values),
                said,
            ]
        )
    return markdown_table(
        ["tenure", "rows", "churn rate", "model", "recency rule", "logistic", "verdict"], rows
    )


def new_player_markdown(summary: dict[str, Any]) -> str:
    """The new-player evaluation (`ml.new_players`) as a short report."""
    setting = summary["setting"]
    title = (
        f"New players: the first {setting['observe_days']} days after install observed, churn = "
        f"no session in the next {setting['horizon_days']} days (the later "
        f"{setting['test_fraction']:.0%} of players by install time as test)."
    )
    if not summary.get("evaluated"):
        return f"{title}\n\nNot evaluated: {summary.get('why_not', 'no data')}"
    auc = summary["roc_auc"]
    players, churn, installs = summary["players"], summary["churn_rate"], summary["installs"]
    rows = [
        ["model, trained for this setting", f"{auc[MODEL]:.3f}"],
        [f"recency rule ({summary['recency_feature']}, hour resolution)", f"{auc[RECENCY]:.3f}"],
        ["logistic regression", f"{auc[LOGISTIC]:.3f}"],
    ]
    production = summary.get("production_model")
    if production is not None:
        after = production.get("installed_after")
        rows.append(
            [
                f"production model as registered, {production['players']:,} test players"
                + (f" installed after {after} (never trained on)" if after else ""),
                _auc_text(production["roc_auc"]),
            ]
        )
    lines = [
        title,
        "",
        f"Train: {players['train']:,} players installed {installs['train'][0]} to "
        f"{installs['train'][1]} (churn {churn['train']:.0%}); test: {players['test']:,} "
        f"installed {installs['test'][0]} to {installs['test'][1]} (churn {churn['test']:.0%}).",
        "",
        markdown_table(["on the test players", "ROC-AUC"], rows),
        "",
        verdict(auc),
        "The model here is trained with the production model's code and parameters on this "
        "setting's own labels (its horizon is not the platform's); the production model's row "
        "shows how the shipped model does on the same question.",
    ]
    return "\n".join(lines)


def training_window_markdown(window: dict[str, Any]) -> str:
    rows = [
        (
            name,
            window[name]["start"],
            window[name]["end"],
            f"{window[name].get('rows', 0):,}",
            f"{window[name]['churn_rate']:.0%}" if "churn_rate" in window[name] else "",
        )
        for name in ("train", "calibration", "evaluation")
    ]
    return markdown_table(["slice", "first snapshot", "last snapshot", "rows", "churn rate"], rows)


def model_summary_markdown(model: Any) -> str:
    """A registered model in a few lines and tables: its status said plainly, the training
    window, the held-out comparison, the tenure cohorts and the new-player evaluation (for the
    demo's report and the CLI; `model` is an `ml.registry.RegisteredModel`)."""
    manifest, metrics = model.manifest, model.metrics
    comparison = pd.DataFrame(metrics["comparison"])
    auc = comparison.loc["roc_auc"].to_dict()
    status = (
        "passed its checks: it scores"
        if manifest["status"] == "passed"
        else "FAILED its checks: it never scores (the newest model that passed does, or, when "
        "none has, the better baseline)"
    )
    parts = [
        f"Model {model.version} {status}.",
        verdict(auc),
        "",
        training_window_markdown(manifest["training_window"]),
        "",
        "Held-out evaluation, the model beside the baselines (same rows):",
        "",
        comparison_markdown(comparison),
    ]
    if metrics.get("cohorts"):
        parts += ["", "ROC-AUC by tenure on the evaluation slice:", ""]
        parts.append(cohort_markdown(metrics["cohorts"]))
    if metrics.get("new_players"):
        parts += ["", new_player_markdown(metrics["new_players"])]
    return "\n".join(parts)
