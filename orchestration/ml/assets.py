"""The churn model as Dagster assets (group `ml`): training set -> model -> scores and reasons.

- `churn_training_set`: the labeled (never censored) snapshots of `marts.churn_features` x
  `marts.churn_labels`, handed to the model through the IO manager.
- `churn_model`: train, calibrate, evaluate against the recency rule and a logistic regression,
  explain, and register under `$RESPAWN_HOME/models/<version>/`. Its blocking check fails when the
  model does not beat the recency rule on ROC-AUC; the version is then registered as failed and
  scoring keeps using the newest model that passed.
- `churn_scores` / `churn_reasons`: every eligible player at the latest snapshot, scored with
  that model, written to `ml.churn_scores` / `ml.churn_reasons` by scoring date; a warning check
  flags features whose distribution drifted (PSI > 0.2) since the training window.

Training and the training set run weekly (tagged `WEEKLY`: the `weekly_churn_retrain` job of
`orchestration.automation`, not the nightly one); scoring joins the nightly job. Every step opens
the warehouse, so all are in the warehouse pool. The model registry is `$RESPAWN_HOME/models`.
The feature-drift check on the scores is in `orchestration.ml.checks`.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from ingestion.settings import models_root
from ml.dataset import LabeledSet, load_labeled
from ml.evaluate import LOGISTIC, MODEL, RECENCY
from ml.pipeline import CHECK_BEATS_RECENCY, MODEL_UNCALIBRATED, train_and_evaluate
from ml.plots import calibration_png, markdown_image, roc_png, shap_summary_png
from ml.registry import latest_passed, register
from ml.report import (
    at_risk_markdown,
    calibration_markdown,
    comparison_markdown,
    drift_markdown,
    headline,
    most_at_risk,
    ranking_markdown,
)
from ml.score import HIGH_RISK, MEDIUM_RISK, TIERS, score_snapshot
from ml.score_tables import (
    REASONS_COLUMNS,
    REASONS_TABLE,
    SCORES_COLUMNS,
    SCORES_TABLE,
    write_scores,
)
from ml.split import time_split
from orchestration import asset_keys
from orchestration.cadence import WEEKLY
from orchestration.owners import ML_ENGINEERING
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.table_metadata import column_schema

# What every ML asset shares: its group in the UI and its owners.
ML_ASSET: dict[str, Any] = {"group_name": "ml", "owners": ML_ENGINEERING}

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
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.Output[LabeledSet]:
    with warehouse.get_connection() as con:
        data = load_labeled(con)
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
            "churn rate": dg.MetadataValue.float(round(float(data.labels.mean()), 4)),
            "features": dg.MetadataValue.int(len(data.feature_names)),
            "first snapshot": dg.MetadataValue.text(f"{dates.min():%Y-%m-%d}"),
            "last labeled snapshot": dg.MetadataValue.text(f"{dates.max():%Y-%m-%d}"),
            "horizon days": dg.MetadataValue.int(data.horizon_days),
            "split": dg.MetadataValue.json(split.as_dict(dates, data.labels)),
            "feature names": dg.MetadataValue.json(data.feature_names),
        },
    )


# -- model ------------------------------------------------------------------------------------


@dg.asset(
    key=asset_keys.CHURN_MODEL,
    **ML_ASSET,
    kinds={"xgboost", "python"},
    tags=WEEKLY,
    pool=WAREHOUSE_POOL,
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_BEATS_RECENCY,
            asset=asset_keys.CHURN_MODEL,
            blocking=True,
            description=(
                "The model's ROC-AUC on the held-out latest dates beats the recency rule's "
                "(days since last session). A failing version is registered as failed and "
                "never used for scoring."
            ),
        )
    ],
    description=(
        "XGBoost (hist) churn model: trained on the oldest snapshots, early-stopped and "
        "calibrated (isotonic, Platt below 1,000 rows) on a later slice, evaluated on the "
        "latest labeled dates against the recency rule and a logistic regression, explained "
        "with TreeSHAP. Registered under $RESPAWN_HOME/models/<version>/."
    ),
)
def churn_model(
    context: dg.AssetExecutionContext, churn_training_set: LabeledSet
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    result = train_and_evaluate(churn_training_set)
    model = register(result.artifacts, models_root())
    comparison = result.comparison
    passed = result.artifacts.passed
    context.log.info(
        f"model {model.version} ({'passed' if passed else 'FAILED'}): "
        + headline(comparison, RECENCY)
    )
    metadata: dict[str, Any] = {
        "model version": dg.MetadataValue.text(model.version),
        "status": dg.MetadataValue.text(model.manifest["status"]),
        "model path": dg.MetadataValue.path(str(model.path)),
        "code version": dg.MetadataValue.text(model.manifest["code_version"]),
        "roc_auc": dg.MetadataValue.float(float(comparison.loc["roc_auc", MODEL])),
        "roc_auc recency rule": dg.MetadataValue.float(float(comparison.loc["roc_auc", RECENCY])),
        "roc_auc logistic regression": dg.MetadataValue.float(
            float(comparison.loc["roc_auc", LOGISTIC])
        ),
        "pr_auc": dg.MetadataValue.float(float(comparison.loc["pr_auc", MODEL])),
        "brier": dg.MetadataValue.float(float(comparison.loc["brier", MODEL])),
        "metrics vs baselines (evaluation slice)": dg.MetadataValue.md(
            comparison_markdown(comparison)
        ),
        "split": dg.MetadataValue.json(result.artifacts.training_window),
        "ROC": dg.MetadataValue.md(
            markdown_image(
                roc_png(
                    result.evaluation_labels,
                    {k: v for k, v in result.evaluation_scores.items() if k != MODEL_UNCALIBRATED},
                ),
                "ROC",
            )
        ),
        "calibration curve": dg.MetadataValue.md(
            markdown_image(
                calibration_png(
                    {
                        "model (calibrated)": result.calibration,
                        "model before calibration": result.calibration_uncalibrated,
                    }
                ),
                "calibration",
            )
        ),
        "calibration table": dg.MetadataValue.md(calibration_markdown(result.calibration)),
        "calibration method": dg.MetadataValue.text(result.artifacts.calibrator.method),
        "top drivers (TreeSHAP)": dg.MetadataValue.md(
            markdown_image(shap_summary_png(result.shap_values, result.shap_features), "SHAP")
        ),
        "global ranking": dg.MetadataValue.md(ranking_markdown(result.ranking)),
        "boosting rounds (best)": dg.MetadataValue.int(
            result.artifacts.metrics["best_iteration"] + 1
        ),
        "seconds": dg.MetadataValue.json({k: round(v, 2) for k, v in result.timings.items()}),
    }
    yield dg.MaterializeResult(metadata=metadata)
    yield dg.AssetCheckResult(
        check_name=CHECK_BEATS_RECENCY,
        passed=passed,
        description=(
            None
            if passed
            else f"ROC-AUC {comparison.loc['roc_auc', MODEL]:.4f} does not beat the recency "
            f"rule's {comparison.loc['roc_auc', RECENCY]:.4f}: version {model.version} is "
            "registered as failed and scoring keeps the previous model"
        ),
        metadata={
            "model roc_auc": float(comparison.loc["roc_auc", MODEL]),
            "recency rule roc_auc": float(comparison.loc["roc_auc", RECENCY]),
            "model version": model.version,
        },
    )


# -- scores and reasons -----------------------------------------------------------------------


def _score_table_spec(
    key: dg.AssetKey, table: str, columns: dict[str, str], description: str
) -> dg.AssetSpec:
    """A table `score_churn` writes from the latest passed model and the latest features."""
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
    "Every player eligible at the latest snapshot (`ml.churn_scores`, one row per scoring date "
    "and player): calibrated probability of churning within the horizon, risk tier (High >= "
    f"{HIGH_RISK:.0%}, Medium >= {MEDIUM_RISK:.0%}, else Low), rank and model version. "
    "Re-scoring a date replaces that date only. Skipped until a model has passed.",
)
REASONS_SPEC = _score_table_spec(
    asset_keys.CHURN_REASONS,
    REASONS_TABLE,
    REASONS_COLUMNS,
    "Up to three reasons per scored player (`ml.churn_reasons`): the features with the largest "
    "TreeSHAP contributions toward churn, as sentences with the player's value and their usual "
    "value or the population's.",
)


@dg.multi_asset(
    name="score_churn",
    specs=[SCORES_SPEC, REASONS_SPEC],
    pool=WAREHOUSE_POOL,
)
def score_churn(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    model = latest_passed(models_root())
    if model is None:
        context.log.warning(
            "no churn model has passed its checks yet: scoring skipped. Materialize "
            "`churn_model` (or run the weekly_churn_retrain job) first."
        )
        return
    with warehouse.get_connection() as con:
        result = score_snapshot(con, model)
        write_scores(con, result)
        top = most_at_risk(con, result.scoring_date, 10)
    tiers = result.scores["risk_tier"].value_counts()
    context.log.info(
        f"scored {len(result.scores):,} players at {result.scoring_date} with {model.version}"
    )
    yield dg.MaterializeResult(
        asset_key=asset_keys.CHURN_SCORES,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(result.scores)),
            "scoring date": dg.MetadataValue.text(result.scoring_date.isoformat()),
            "model version": dg.MetadataValue.text(model.version),
            **{
                f"{tier} risk players": dg.MetadataValue.int(int(tiers.get(tier, 0)))
                for tier in TIERS
            },
            "mean churn probability": dg.MetadataValue.float(
                round(float(result.scores["churn_probability"].mean()), 4)
            ),
            "most at risk": dg.MetadataValue.md(at_risk_markdown(top)),
            "feature drift (PSI vs training window)": dg.MetadataValue.md(
                drift_markdown(result.drift)
            ),
            "seconds": dg.MetadataValue.json({k: round(v, 2) for k, v in result.timings.items()}),
        },
    )
    yield dg.MaterializeResult(
        asset_key=asset_keys.CHURN_REASONS,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(result.reasons)),
            "scoring date": dg.MetadataValue.text(result.scoring_date.isoformat()),
            "most frequent reasons": dg.MetadataValue.json(
                result.reasons["feature"].value_counts().head(10).to_dict()
            ),
        },
    )
