"""The churn model as Dagster assets (group `ml`): training set -> model -> scores and reasons.

- `churn_training_set`: the labeled (never censored) snapshots of `marts.churn_features` x
  `marts.churn_labels`, handed to the model through the IO manager.
- `churn_model`: train, calibrate, evaluate against the recency rule (hour resolution) and a
  logistic regression (overall and per tenure cohort), evaluate in the new-player setting (run
  config: observe N days, horizon M days), explain, and register under
  `$RESPAWN_HOME/models/<version>/`. One blocking check per baseline: a model that does not beat
  both on ROC-AUC is registered as failed and never scores; a warning check says whether the
  model also beats them in the new-player setting.
- `churn_scores` / `churn_reasons`: the players of the latest snapshot (default), of a chosen
  date, or of a tenure cohort (run config, e.g. from the Launchpad, or `respawn score`), scored
  with the newest model that passed, else the better baseline (said in the metadata and in
  `scored_with`), written to `ml.churn_scores` / `ml.churn_reasons` by scope and date; scoring a
  date again replaces it; dates the warehouse no longer has are removed. The drift check on the
  scores is in `orchestration.ml.checks`.

Training and the training set run weekly (tagged `WEEKLY`: the `weekly_churn_retrain` job of
`orchestration.automation`, not the nightly one); scoring joins the nightly job. Every step opens
the warehouse, so all are in the warehouse pool. The model registry is `$RESPAWN_HOME/models`.
"""

from collections.abc import Iterator
from datetime import date
from typing import Any

import dagster as dg
from pydantic import Field

from ingestion.settings import models_root
from ml.dataset import LabeledSet, load_labeled
from ml.evaluate import LOGISTIC, MODEL, RECENCY
from ml.new_players import NewPlayerSetting, new_player_evaluation
from ml.pipeline import CHECKED_BASELINES, MODEL_UNCALIBRATED, train_and_evaluate
from ml.registry import choose_scorer, register
from ml.report import (
    at_risk_markdown,
    calibration_markdown,
    cohort_markdown,
    comparison_markdown,
    most_at_risk,
    new_player_markdown,
    ranking_markdown,
    segment_counts,
    segments_markdown,
    verdict,
)
from ml.score import (
    HIGH_RISK,
    LAPSED,
    MEDIUM_RISK,
    REACHABLE,
    REACHABLE_DAYS,
    TIERS,
    ScoringRequest,
    score,
)
from ml.score_tables import (
    REASONS_COLUMNS,
    REASONS_TABLE,
    SCORES_COLUMNS,
    SCORES_TABLE,
    write_scores,
)
from ml.split import time_split
from orchestration import asset_keys, inline_plots
from orchestration.cadence import WEEKLY
from orchestration.dbt.as_of import AS_OF_DESCRIPTION, AsOfConfig, last_complete_day, resolve_as_of
from orchestration.owners import ML_ENGINEERING
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.table_metadata import column_schema

# What every ML asset shares: its group in the UI and its owners.
ML_ASSET: dict[str, Any] = {"group_name": "ml", "owners": ML_ENGINEERING}
CHECK_NEW_PLAYERS = "beats_baselines_new_players"


def _float(value: float, digits: int = 4) -> dg.MetadataValue:
    return dg.MetadataValue.float(round(float(value), digits))


def _seconds(timings: dict[str, float]) -> dg.MetadataValue:
    return dg.MetadataValue.json({k: round(v, 2) for k, v in timings.items()})


# -- training set -----------------------------------------------------------------------------


@dg.asset(
    key=asset_keys.CHURN_TRAINING_SET,
    deps=[asset_keys.CHURN_FEATURES, asset_keys.CHURN_LABELS],
    **ML_ASSET,
    kinds={"duckdb", "pandas"},
    tags=WEEKLY,
    pool=WAREHOUSE_POOL,
    description=(
        "Labeled player-snapshots for training: `marts.churn_features` joined to "
        "`marts.churn_labels`, never a censored row; feature columns are every non-key column, "
        "sorted by name. Metadata shows the time split the model will use."
    ),
)
def churn_training_set(
    context: dg.AssetExecutionContext, config: AsOfConfig, warehouse: WarehouseResource
) -> dg.Output[LabeledSet]:
    as_of = config.resolved()
    known_by = None if as_of is None else last_complete_day(as_of)
    if known_by is not None:
        context.log.info(f"as of {as_of:%Y-%m-%d %H:%M:%S}: labels known by {known_by}")
    with warehouse.get_connection() as con:
        data = load_labeled(con, as_of=known_by)
        censored = con.execute(
            "SELECT count(*) FROM marts.churn_labels WHERE is_censored"
        ).fetchone()[0]
    dates = data.keys["snapshot_date"]
    split = time_split(dates, data.horizon_days)
    context.log.info(f"{len(data):,} labeled snapshots, {censored:,} censored left out")
    return dg.Output(
        data,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(data)),
            "censored rows left out": dg.MetadataValue.int(int(censored)),
            "churn rate": _float(data.labels.mean()),
            "features": dg.MetadataValue.int(len(data.feature_names)),
            "first snapshot": dg.MetadataValue.text(f"{dates.min():%Y-%m-%d}"),
            "last labeled snapshot": dg.MetadataValue.text(f"{dates.max():%Y-%m-%d}"),
            "horizon days": dg.MetadataValue.int(data.horizon_days),
            "split": dg.MetadataValue.json(split.as_dict(dates, data.labels)),
            "feature names": dg.MetadataValue.json(data.feature_names),
        },
    )


# -- model ------------------------------------------------------------------------------------


class ChurnModelConfig(dg.Config):
    """The new-player evaluation's setting (the model itself trains on `churn_horizon_days`)."""

    new_player_observe_days: int = Field(
        default=5, description="Days after install observed (the snapshot: install + N - 1)."
    )
    new_player_horizon_days: int = Field(
        default=10, description="Churn = no session in this many days after that snapshot."
    )
    new_player_test_fraction: float = Field(
        default=0.3, description="The later share of players by install time used as test."
    )


_BASELINE_NAMES = {
    RECENCY: "the recency rule (time since the last event, hour resolution)",
    LOGISTIC: "a logistic regression on the same features",
}


def _baseline_check(check: str, baseline: str) -> dg.AssetCheckSpec:
    named = _BASELINE_NAMES[baseline]
    return dg.AssetCheckSpec(
        check,
        asset=asset_keys.CHURN_MODEL,
        blocking=True,
        description=(
            f"The model's ROC-AUC on the held-out latest dates is higher than that of {named}. "
            "A failing version is registered as failed and never scores."
        ),
    )


@dg.asset(
    key=asset_keys.CHURN_MODEL,
    deps=[asset_keys.FCT_SESSIONS],
    **ML_ASSET,
    kinds={"xgboost", "python"},
    tags=WEEKLY,
    pool=WAREHOUSE_POOL,
    check_specs=[
        *(_baseline_check(check, baseline) for check, baseline in CHECKED_BASELINES.items()),
        dg.AssetCheckSpec(
            CHECK_NEW_PLAYERS,
            asset=asset_keys.CHURN_MODEL,
            description=(
                "In the new-player setting (first N days after install observed, churn = no "
                "session in the next M days; run config), a model trained the same way beats "
                "both baselines on the later players (warning: it is reported, not a gate)."
            ),
        ),
    ],
    description=(
        "XGBoost (hist) churn model: trained on the oldest snapshots, early-stopped and "
        "calibrated (isotonic, Platt below 1,000 rows) on a later slice, evaluated on the "
        "latest labeled dates against the recency rule and a logistic regression (overall and "
        "per tenure cohort) and in the new-player setting, explained with TreeSHAP. Registered "
        "under `$RESPAWN_HOME/models/` by version."
    ),
)
def churn_model(
    context: dg.AssetExecutionContext,
    config: ChurnModelConfig,
    churn_training_set: LabeledSet,
    warehouse: WarehouseResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    result = train_and_evaluate(churn_training_set)
    setting = NewPlayerSetting(
        config.new_player_observe_days,
        config.new_player_horizon_days,
        config.new_player_test_fraction,
    )
    with warehouse.get_connection() as con:
        new_players = new_player_evaluation(
            con,
            setting,
            production=result.artifacts,
            production_unseen_after=result.split.calibration[1],
        ).summary
    result.artifacts.metrics["new_players"] = new_players
    model = register(result.artifacts, models_root())
    comparison = result.comparison
    auc = comparison.loc["roc_auc"].to_dict()
    passed = result.artifacts.passed
    said = verdict(auc)
    context.log.info(f"model {model.version} ({'passed' if passed else 'FAILED'}): {said}")
    if not passed:
        context.log.warning(
            f"{said} Version {model.version} is registered as failed and will not score."
        )
    metadata: dict[str, Any] = {
        "model version": dg.MetadataValue.text(model.version),
        "status": dg.MetadataValue.text(model.manifest["status"]),
        "verdict": dg.MetadataValue.text(said),
        "model path": dg.MetadataValue.path(str(model.path)),
        "code version": dg.MetadataValue.text(model.manifest["code_version"]),
        "roc_auc": _float(auc[MODEL]),
        "roc_auc recency rule": _float(auc[RECENCY]),
        "roc_auc logistic regression": _float(auc[LOGISTIC]),
        "pr_auc": _float(comparison.loc["pr_auc", MODEL]),
        "brier": _float(comparison.loc["brier", MODEL]),
        "ROC": inline_plots.roc_plot(
            result.evaluation_labels,
            {k: v for k, v in result.evaluation_scores.items() if k != MODEL_UNCALIBRATED},
        ),
        "metrics vs baselines (evaluation slice)": dg.MetadataValue.md(
            comparison_markdown(comparison)
        ),
        "ROC-AUC by tenure cohort (evaluation slice)": dg.MetadataValue.md(
            cohort_markdown(result.cohorts)
        ),
        "new players": dg.MetadataValue.md(new_player_markdown(new_players)),
        "new players (figures)": dg.MetadataValue.json(new_players),
        "split": dg.MetadataValue.json(result.artifacts.training_window),
        "calibration curve": inline_plots.calibration_plot(
            {
                "model (calibrated)": result.calibration,
                "model before calibration": result.calibration_uncalibrated,
            }
        ),
        "calibration table": dg.MetadataValue.md(calibration_markdown(result.calibration)),
        "calibration method": dg.MetadataValue.text(result.artifacts.calibrator.method),
        "top drivers (TreeSHAP)": inline_plots.drivers_plot(result.ranking),
        "global ranking": dg.MetadataValue.md(ranking_markdown(result.ranking)),
        "boosting rounds (best)": dg.MetadataValue.int(
            result.artifacts.metrics["best_iteration"] + 1
        ),
        "seconds": _seconds(result.timings),
    }
    yield dg.MaterializeResult(metadata=metadata)
    for check, baseline in CHECKED_BASELINES.items():
        beaten = result.artifacts.checks[check]
        yield dg.AssetCheckResult(
            check_name=check,
            passed=beaten,
            description=None
            if beaten
            else f"ROC-AUC {auc[MODEL]:.4f} does not beat the {baseline.replace('_', ' ')}'s "
            f"{auc[baseline]:.4f}: version {model.version} is registered as failed and never "
            "scores",
            metadata={
                "model roc_auc": round(float(auc[MODEL]), 4),
                f"{baseline} roc_auc": round(float(auc[baseline]), 4),
                "model version": model.version,
            },
        )
    yield _new_player_check(new_players)


def _new_player_check(summary: dict[str, Any]) -> dg.AssetCheckResult:
    if not summary.get("evaluated"):
        return dg.AssetCheckResult(
            check_name=CHECK_NEW_PLAYERS,
            passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"not evaluated: {summary.get('why_not')}",
            metadata={"evaluated": False},
        )
    beats_both = all(summary["model_beats"].values())
    return dg.AssetCheckResult(
        check_name=CHECK_NEW_PLAYERS,
        passed=beats_both,
        severity=dg.AssetCheckSeverity.WARN,
        description=None if beats_both else verdict(summary["roc_auc"]),
        metadata={"evaluated": True, **{f"roc_auc {k}": v for k, v in summary["roc_auc"].items()}},
    )


# -- scores and reasons -----------------------------------------------------------------------


def _score_table_spec(
    key: dg.AssetKey, table: str, columns: dict[str, str], description: str
) -> dg.AssetSpec:
    """A table `score_churn` writes from the chosen scorer and the features."""
    return dg.AssetSpec(
        key,
        deps=[asset_keys.CHURN_MODEL, asset_keys.CHURN_FEATURES],
        **ML_ASSET,
        kinds={"duckdb", "xgboost"},
        skippable=True,
        description=description,
        metadata={"dagster/table_name": table, "dagster/column_schema": column_schema(columns)},
    )


SCORES_SPEC = _score_table_spec(
    asset_keys.CHURN_SCORES,
    SCORES_TABLE,
    SCORES_COLUMNS,
    "The players of a snapshot (`ml.churn_scores`, one row per scope, scoring date and "
    "player): calibrated probability of churning within the horizon (1% to 99%), risk tier "
    f"(High >= {HIGH_RISK:.0%}, Medium >= {MEDIUM_RISK:.0%}, else Low), rank overall and within "
    f"the segment (`reachable`: a session in the last {REACHABLE_DAYS} days; `lapsed`), and what "
    "scored. Run config picks the snapshot date or a tenure cohort; re-scoring replaces that "
    "date only. Skipped until a model (or its baselines) is registered.",
)
REASONS_SPEC = _score_table_spec(
    asset_keys.CHURN_REASONS,
    REASONS_TABLE,
    REASONS_COLUMNS,
    "Up to three reasons per scored player (`ml.churn_reasons`): the largest contributions "
    "toward churn whose sentence reads as a risk, with the player's value and their usual "
    "value or the typical player's at the same tenure.",
)


class ScoringConfig(dg.Config):
    """What to score (Launchpad or `respawn score`); nothing set: the latest snapshot."""

    snapshot_date: str | None = Field(
        default=None, description="A snapshot date, YYYY-MM-DD (default: the latest)."
    )
    tenure_days: int | None = Field(
        default=None,
        description="Score a cohort: every player on day N after install (tenure_days = N), "
        "on snapshot_date, or on every date when none is set.",
    )
    reachable_days: int = Field(
        default=REACHABLE_DAYS,
        description="A player is reachable with a session on one of this many last days.",
    )
    as_of: str | None = Field(
        default=None,
        description=AS_OF_DESCRIPTION + " Without snapshot_date, the snapshot scored is the "
        "as-of time's last complete day.",
    )

    def request(self) -> ScoringRequest:
        try:
            day = None if self.snapshot_date is None else date.fromisoformat(self.snapshot_date)
        except ValueError:
            raise dg.Failure(
                f"snapshot_date {self.snapshot_date!r} is not a date like 2026-03-01"
            ) from None
        if day is None and self.tenure_days is None:
            try:
                as_of = resolve_as_of(self.as_of)
            except ValueError as e:
                raise dg.Failure(str(e)) from None
            day = None if as_of is None else last_complete_day(as_of)
        return ScoringRequest(day, self.tenure_days, self.reachable_days)


@dg.multi_asset(
    name="score_churn",
    specs=[SCORES_SPEC, REASONS_SPEC],
    pool=WAREHOUSE_POOL,
)
def score_churn(
    context: dg.AssetExecutionContext, config: ScoringConfig, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    choice = choose_scorer(models_root())
    if choice is None:
        context.log.warning(
            "no churn model is registered yet: scoring skipped. Materialize `churn_model` (or "
            "run the weekly_churn_retrain job) first."
        )
        return
    request = config.request()
    if choice.scored_with != MODEL:
        context.log.warning(f"scoring {request.describe()}: {choice.note}")
    with warehouse.get_connection() as con:
        try:
            result = score(con, choice, request)
        except ValueError as e:
            raise dg.Failure(str(e)) from None
        written = write_scores(con, result)
        day = result.scoring_date
        reachable = most_at_risk(con, day, 10, REACHABLE, result.scope)
        lapsed = most_at_risk(con, day, 5, LAPSED, result.scope)
        segments = segment_counts(con, day, result.scope)
    tiers = result.scores["risk_tier"].value_counts()
    context.log.info(
        f"scored {len(result.scores):,} players ({request.describe()}) with "
        f"{choice.scored_with} of {choice.model.version}"
    )
    for table in written.kept_apart:
        context.log.warning(f"{table}: the scores table of an earlier layout, kept under this name")
    dates = result.scoring_dates
    yield dg.MaterializeResult(
        asset_key=asset_keys.CHURN_SCORES,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(result.scores)),
            "scored": dg.MetadataValue.text(request.describe()),
            "scope": dg.MetadataValue.text(result.scope),
            "scoring date": dg.MetadataValue.text(
                dates[0].isoformat() if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"
            ),
            "scored with": dg.MetadataValue.text(choice.scored_with),
            "model version": dg.MetadataValue.text(choice.model.version),
            "why this scorer": dg.MetadataValue.text(choice.note),
            **{
                f"{tier} risk players": dg.MetadataValue.int(int(tiers.get(tier, 0)))
                for tier in TIERS
            },
            "mean churn probability": _float(result.scores["churn_probability"].mean(), 3),
            "risk distribution": inline_plots.histogram_plot(
                result.scores["churn_probability"],
                marks={"Medium": MEDIUM_RISK, "High": HIGH_RISK},
            ),
            "players by segment and tier": dg.MetadataValue.md(
                segments_markdown(segments, request.reachable_days)
            ),
            "most at risk, reachable": dg.MetadataValue.md(at_risk_markdown(reachable)),
            "most at risk, lapsed": dg.MetadataValue.md(at_risk_markdown(lapsed)),
            "stale dates removed": dg.MetadataValue.json(
                [d.isoformat() for d in written.stale_dates_removed]
            ),
            "seconds": _seconds(result.timings),
        },
    )
    yield dg.MaterializeResult(
        asset_key=asset_keys.CHURN_REASONS,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(result.reasons)),
            "scope": dg.MetadataValue.text(result.scope),
            "scored with": dg.MetadataValue.text(choice.scored_with),
            "most frequent reasons": dg.MetadataValue.json(
                {k: int(v) for k, v in result.reasons["feature"].value_counts().head(10).items()}
            ),
        },
    )
