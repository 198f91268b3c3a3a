"""Metrics for churn probabilities, and the side-by-side comparison with baselines.

Ranking metrics (ROC-AUC, PR-AUC, top-decile precision/recall/lift) use each candidate's ranking
score; probability metrics (Brier, log loss, calibration table) use its probabilities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from ml.tenure import COHORTS, TenureBands

TOP_FRACTION = 0.10
MODEL = "model"
RECENCY = "recency_rule"
LOGISTIC = "logistic_regression"
# Metrics where a larger value is better; the rest (brier, log_loss) are better when smaller.
HIGHER_IS_BETTER = frozenset({"roc_auc", "pr_auc", "precision_top10", "recall_top10", "lift_top10"})


@dataclass(frozen=True)
class Candidate:
    probability: np.ndarray
    ranking: np.ndarray | None = None  # defaults to the probability

    def subset(self, mask: np.ndarray) -> Candidate:
        """The same scores on the rows `mask` keeps."""
        ranking = None if self.ranking is None else self.ranking[mask]
        return Candidate(self.probability[mask], ranking)


def top_rows(ranking: np.ndarray, fraction: float = TOP_FRACTION) -> np.ndarray:
    """Indexes of the `fraction` highest-ranked rows (ties broken by row order, stably)."""
    k = max(1, math.ceil(ranking.size * fraction))
    return np.argsort(-ranking, kind="stable")[:k]


def classification_metrics(
    labels: np.ndarray, probability: np.ndarray, ranking: np.ndarray | None = None
) -> dict[str, float]:
    labels = np.asarray(labels, dtype=np.int8)
    ranking = probability if ranking is None else ranking
    if np.unique(labels).size < 2:
        raise ValueError(
            f"evaluation needs churners and stayers, got {labels.size} row(s) of one class; "
            "use a longer window of labeled snapshots"
        )
    base_rate = float(labels.mean())
    top = top_rows(np.asarray(ranking, dtype=np.float64))
    precision = float(labels[top].mean())
    return {
        "roc_auc": float(roc_auc_score(labels, ranking)),
        "pr_auc": float(average_precision_score(labels, ranking)),
        "brier": float(brier_score_loss(labels, probability)),
        "log_loss": float(log_loss(labels, probability, labels=[0, 1])),
        "precision_top10": precision,
        "recall_top10": float(labels[top].sum() / labels.sum()),
        "lift_top10": precision / base_rate,
        "churn_rate": base_rate,
        "rows": float(labels.size),
    }


def calibration_table(labels: np.ndarray, probability: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Reliability table on equal-width probability bins (empty bins dropped)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(probability, edges[1:-1], right=False), 0, bins - 1)
    frame = pd.DataFrame({"bin": index, "p": probability, "y": labels.astype(np.float64)})
    grouped = frame.groupby("bin").agg(
        rows=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean")
    )
    grouped.insert(0, "bin_low", edges[grouped.index])
    grouped.insert(1, "bin_high", edges[grouped.index + 1])
    return grouped.reset_index(drop=True)


def compare(labels: np.ndarray, candidates: dict[str, Candidate]) -> pd.DataFrame:
    """Metrics (rows) for every candidate (columns), all on the same rows."""
    columns = {
        name: classification_metrics(labels, candidate.probability, candidate.ranking)
        for name, candidate in candidates.items()
    }
    return pd.DataFrame(columns)


def beats(comparison: pd.DataFrame, baseline: str, metric: str = "roc_auc") -> bool:
    """Whether the model is strictly better than `baseline` on `metric`."""
    model, other = comparison.loc[metric, MODEL], comparison.loc[metric, baseline]
    return bool(model > other) if metric in HIGHER_IS_BETTER else bool(model < other)


# A cohort's ROC-AUC is reported when it has at least this many churners and as many stayers;
# below that one player more or less moves it by several points.
MIN_COHORT_CLASS_ROWS = 10


def roc_auc_or_nan(labels: np.ndarray, ranking: np.ndarray) -> float:
    """ROC-AUC, or NaN when either class has fewer than MIN_COHORT_CLASS_ROWS rows."""
    positives = int(np.sum(labels))
    if min(positives, labels.size - positives) < MIN_COHORT_CLASS_ROWS:
        return float("nan")
    return float(roc_auc_score(labels, ranking))


def cohort_comparison(
    labels: np.ndarray,
    candidates: dict[str, Candidate],
    tenure_days: np.ndarray,
    bands: TenureBands = COHORTS,
) -> pd.DataFrame:
    """ROC-AUC of every candidate per tenure cohort (rows), with each cohort's size and churn
    rate; NaN where a cohort is too small to say (see MIN_COHORT_CLASS_ROWS)."""
    labels = np.asarray(labels, dtype=np.int8)
    band = bands.index(tenure_days)
    rows = []
    for index, label in enumerate(bands.labels()):
        mask = band == index
        entry: dict[str, object] = {
            "cohort": label,
            "rows": int(mask.sum()),
            "churn_rate": float(labels[mask].mean()) if mask.any() else float("nan"),
        }
        for name, candidate in candidates.items():
            ranking = candidate.probability if candidate.ranking is None else candidate.ranking
            entry[name] = roc_auc_or_nan(labels[mask], ranking[mask]) if mask.any() else np.nan
        rows.append(entry)
    return pd.DataFrame(rows)


def records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as JSON-able dicts: NaN (a figure too small to say) becomes None."""
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
