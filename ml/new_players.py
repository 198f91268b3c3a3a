"""The new-player evaluation: can the model tell, a few days after install, who will not come back?

The setting (`NewPlayerSetting`, both numbers configurable; `PRESETS["5+10"]` is the published
one): observe the first N days after install (install: the player's first session start; the
snapshot is the end of day `install_date + N - 1`, i.e. the `marts.churn_features` row with
`snapshot_date = install_date + N - 1`), churn = no session start in the M days (24 x M hours)
after that snapshot's end, read from `marts.fct_sessions`' start times. Players whose M days pass
the end of the data are left out, never counted as churned. Test: the later `test_fraction` of
players by install time; the rest train. N should not exceed `eligibility_days` (the snapshots
hold only players with a session in that window, and a longer N would drop the quiet ones).

What is compared, on the same test players:
- `model`: a booster trained **for this setting**, with the production model's training code and
  parameters, on the training players' setting rows and labels (early stopping on the latest 20%
  of them by install time). The production model answers another question (churn within
  `churn_horizon_days`, at every tenure), so the fair test of the approach is the same training on
  the setting's own labels, on the same footing as the baselines.
- `recency_rule` (hour resolution, `RECENCY_FEATURE`) and `logistic_regression`, fit on the
  training players.
- `production_model`, for information: the registered model as it scores, on the test players
  installed after its calibration slice ended (so none of their rows were trained or calibrated
  on), with how many there were. It is not what the verdict is about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ml.baselines import Baselines
from ml.dataset import feature_columns, select_features_sql, split_frame
from ml.evaluate import LOGISTIC, MIN_COHORT_CLASS_ROWS, MODEL, RECENCY, Candidate
from ml.feature_contract import FEATURES_TABLE, RECENCY_FEATURE
from ml.registry import TrainedModel
from ml.train import predict_margin, train_booster

SESSIONS_TABLE = "marts.fct_sessions"
PRODUCTION = "production_model"
# The share of the training players, the latest installs, that early stopping watches.
STOPPING_FRACTION = 0.2


@dataclass(frozen=True)
class NewPlayerSetting:
    observe_days: int = 5
    horizon_days: int = 10
    test_fraction: float = 0.3

    def __post_init__(self) -> None:
        if self.observe_days < 1 or self.horizon_days < 1:
            raise ValueError(
                f"observe and horizon days must be at least 1, got {self.observe_days} and "
                f"{self.horizon_days}"
            )
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be between 0 and 1, got {self.test_fraction}")

    def describe(self) -> str:
        return (
            f"first {self.observe_days} days after install observed, churn = no session in the "
            f"next {self.horizon_days} days"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "observe_days": self.observe_days,
            "horizon_days": self.horizon_days,
            "test_fraction": self.test_fraction,
        }


PRESETS: dict[str, NewPlayerSetting] = {"5+10": NewPlayerSetting(5, 10)}


@dataclass(frozen=True)
class NewPlayerData:
    """One row per player: their snapshot at `install_date + N - 1` and the setting's label,
    ordered by install time then user id."""

    keys: pd.DataFrame  # user_id, installed_at (timestamp), snapshot_date (datetime64)
    features: pd.DataFrame
    labels: np.ndarray  # 1 = no session in the M days after the snapshot
    feature_names: list[str]
    setting: NewPlayerSetting

    def __len__(self) -> int:
        return len(self.keys)


def load_new_players(
    con: duckdb.DuckDBPyConnection,
    setting: NewPlayerSetting,
    *,
    features_table: str = FEATURES_TABLE,
    sessions_table: str = SESSIONS_TABLE,
) -> NewPlayerData:
    """The setting's rows: the features at install + N - 1, labels from the sessions."""
    names = feature_columns(con, features_table)
    n, m = int(setting.observe_days), int(setting.horizon_days)
    frame = con.execute(
        f"""
        WITH installs AS (
            SELECT user_id, min(started_at) AS installed_at FROM {sessions_table} GROUP BY 1
        ),
        observed AS (
            SELECT user_id, installed_at,
                   CAST(installed_at AS DATE) + {n - 1} AS snapshot_date,
                   CAST(CAST(installed_at AS DATE) + {n} AS TIMESTAMP) AS observed_until
            FROM installs
            -- the label window must end by the end of the last day with features
            WHERE CAST(installed_at AS DATE) + {n - 1 + m}
                  <= (SELECT max(snapshot_date) FROM {features_table})
        ),
        later AS (
            SELECT o.user_id, count(s.user_id) AS sessions_after
            FROM observed o
            LEFT JOIN {sessions_table} s
              ON s.user_id = o.user_id
             AND s.started_at > o.observed_until
             AND s.started_at <= o.observed_until + INTERVAL {m} DAY
            GROUP BY 1
        )
        SELECT o.user_id, o.installed_at, o.snapshot_date,
               CAST(later.sessions_after = 0 AS TINYINT) AS __churned,
               {select_features_sql(names, "f")}
        FROM observed o
        JOIN later USING (user_id)
        JOIN {features_table} f ON f.user_id = o.user_id AND f.snapshot_date = o.snapshot_date
        ORDER BY o.installed_at, o.user_id
        """
    ).df()
    keys, features, labels = split_frame(
        frame, names, ["user_id", "installed_at", "snapshot_date"], features_table
    )
    assert labels is not None
    return NewPlayerData(keys, features, labels, names, setting)


@dataclass(frozen=True)
class NewPlayerEvaluation:
    summary: dict[str, Any]  # JSON-able: what the model's metadata and the reports show
    test_keys: pd.DataFrame = field(default_factory=pd.DataFrame)
    test_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    candidates: dict[str, Candidate] = field(default_factory=dict)  # on the test rows

    @property
    def evaluated(self) -> bool:
        return bool(self.summary.get("evaluated"))


def _enough(labels: np.ndarray) -> bool:
    positives = int(labels.sum())
    return min(positives, labels.size - positives) >= MIN_COHORT_CLASS_ROWS


def _span(keys: pd.DataFrame) -> list[str]:
    installed = pd.to_datetime(keys["installed_at"])
    return [f"{installed.min():%Y-%m-%d}", f"{installed.max():%Y-%m-%d}"]


def _auc(labels: np.ndarray, candidate: Candidate) -> float:
    ranking = candidate.probability if candidate.ranking is None else candidate.ranking
    return float(roc_auc_score(labels, ranking))


def evaluate_new_players(
    data: NewPlayerData,
    *,
    params: dict[str, Any] | None = None,
    production: TrainedModel | None = None,
    production_unseen_after: date | None = None,
) -> NewPlayerEvaluation:
    """Train for the setting on the earlier players, compare on the later ones (see the module
    docstring); `production` (with the last day of its calibration slice) is shown beside."""
    setting = data.setting
    summary: dict[str, Any] = {"setting": setting.as_dict(), "evaluated": False}
    n_test = round(len(data) * setting.test_fraction)
    n_train = len(data) - n_test
    n_fit = n_train - round(n_train * STOPPING_FRACTION)
    labels = data.labels
    parts = {
        "train": slice(0, n_fit),
        "stopping": slice(n_fit, n_train),
        "test": slice(n_train, None),
    }
    short = [name for name, part in parts.items() if not _enough(labels[part])]
    if short:
        summary["why_not"] = (
            f"{len(data):,} players fit the setting ({setting.describe()}); the {short[0]} "
            f"players need at least {MIN_COHORT_CLASS_ROWS} churners and as many who stayed. "
            "Simulate or import more players, or a longer history."
        )
        return NewPlayerEvaluation(summary)
    names = data.feature_names
    rows = {name: np.arange(len(data))[part] for name, part in parts.items()}

    def take(part: str) -> pd.DataFrame:
        return data.features.iloc[rows[part]].reset_index(drop=True)

    train_rows = np.r_[rows["train"], rows["stopping"]]
    trained = train_booster(
        take("train"),
        labels[rows["train"]],
        take("stopping"),
        labels[rows["stopping"]],
        names,
        params=params,
    )
    baselines = Baselines.fit(
        data.features.iloc[train_rows], labels[train_rows], names, RECENCY_FEATURE
    )
    test = take("test")
    test_labels = labels[rows["test"]]
    candidates = {
        MODEL: Candidate(predict_margin(trained.booster, test, names)),
        **baselines.candidates(test),
    }
    roc_auc = {name: _auc(test_labels, candidate) for name, candidate in candidates.items()}
    test_keys = data.keys.iloc[rows["test"]].reset_index(drop=True)
    summary.update(
        evaluated=True,
        players={"train": int(train_rows.size), "test": int(test_labels.size)},
        churn_rate={
            "train": round(float(labels[train_rows].mean()), 4),
            "test": round(float(test_labels.mean()), 4),
        },
        installs={"train": _span(data.keys.iloc[train_rows]), "test": _span(test_keys)},
        roc_auc={name: round(value, 4) for name, value in roc_auc.items()},
        model_beats={name: bool(roc_auc[MODEL] > roc_auc[name]) for name in (RECENCY, LOGISTIC)},
        boosting_rounds=trained.best_iteration + 1,
        recency_feature=RECENCY_FEATURE,
    )
    if production is not None:
        unseen = np.ones(len(test_keys), dtype=bool)
        if production_unseen_after is not None:
            installed = pd.to_datetime(test_keys["installed_at"]).dt.date.to_numpy()
            unseen = installed > production_unseen_after
        entry: dict[str, Any] = {"players": int(unseen.sum()), "roc_auc": None}
        if _enough(test_labels[unseen]) and set(production.feature_names) <= set(test.columns):
            margin = production.margin(test.iloc[np.flatnonzero(unseen)])
            entry["roc_auc"] = round(_auc(test_labels[unseen], Candidate(margin)), 4)
        if production_unseen_after is not None:
            entry["installed_after"] = production_unseen_after.isoformat()
        summary[PRODUCTION] = entry
    return NewPlayerEvaluation(
        summary=summary, test_keys=test_keys, test_labels=test_labels, candidates=candidates
    )


def new_player_evaluation(
    con: duckdb.DuckDBPyConnection,
    setting: NewPlayerSetting = PRESETS["5+10"],
    **kwargs: Any,
) -> NewPlayerEvaluation:
    """Load the setting's rows from the warehouse and evaluate (see `evaluate_new_players`);
    without the sessions table, say so instead of failing the model that asked."""
    try:
        data = load_new_players(con, setting)
    except duckdb.CatalogException as e:
        why = f"the warehouse has no {SESSIONS_TABLE} to label from ({str(e).splitlines()[0]})"
        return NewPlayerEvaluation(
            {"setting": setting.as_dict(), "evaluated": False, "why_not": why}
        )
    return evaluate_new_players(data, **kwargs)
