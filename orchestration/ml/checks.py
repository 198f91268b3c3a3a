"""The check on the scores: whether the features drifted since the model's training window.
(The model's own check, `beats_recency_roc_auc`, is a check spec of `churn_model`.)"""

import dagster as dg

from ingestion.settings import models_root
from ml.dataset import load_snapshot
from ml.drift import PSI_WARN, population_stability
from ml.registry import load
from ml.report import drift_markdown
from ml.score_tables import SCORES_TABLE
from orchestration import asset_keys
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

FEATURE_DRIFT = "feature_drift_psi"


@dg.asset_check(
    asset=asset_keys.CHURN_SCORES,
    name=FEATURE_DRIFT,
    description=(
        "No feature's distribution at the latest scoring date drifted from the model's training "
        f"window by more than PSI {PSI_WARN} (warn: retrain, or look at the data)."
    ),
    pool=WAREHOUSE_POOL,
)
def feature_drift_psi(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        row = con.execute(
            f"SELECT scoring_date, any_value(model_version) FROM {SCORES_TABLE} "
            "GROUP BY scoring_date ORDER BY scoring_date DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise dg.Failure(f"{SCORES_TABLE} is empty: materialize churn_scores first")
        scoring_date, version = row
        model = load(version, models_root())
        snapshot = load_snapshot(con, model.feature_names, scoring_date)
    drift = population_stability(model.drift_profile, snapshot.features)
    drifted = drift[drift["drifted"]]
    return dg.AssetCheckResult(
        passed=drifted.empty,
        severity=dg.AssetCheckSeverity.WARN,
        description=None
        if drifted.empty
        else f"{len(drifted)} feature(s) drifted (PSI > {PSI_WARN}) at {scoring_date}: "
        + ", ".join(drifted["feature"].head(5)),
        metadata={
            "scoring date": dg.MetadataValue.text(scoring_date.isoformat()),
            "model version": dg.MetadataValue.text(version),
            "drifted features": dg.MetadataValue.int(len(drifted)),
            "largest PSI": dg.MetadataValue.float(float(drift["psi"].max()) if len(drift) else 0.0),
            "PSI by feature": dg.MetadataValue.md(drift_markdown(drift)),
        },
    )
