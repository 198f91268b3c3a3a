"""The check on the scores: whether the features drifted since the model's training window,
at equal tenure (`ml.drift`). (The model's own checks are check specs of `churn_model`.)"""

import dagster as dg

from ingestion.settings import models_root
from ml.dataset import load_rows
from ml.drift import PSI_WARN
from ml.feature_contract import TENURE_FEATURE
from ml.registry import load
from ml.report import drift_markdown
from ml.score import SNAPSHOT_SCOPE
from ml.score import drift as feature_drift
from ml.score_tables import SCORES_TABLE
from orchestration import asset_keys
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

FEATURE_DRIFT = "feature_drift_psi"


@dg.asset_check(
    asset=asset_keys.CHURN_SCORES,
    name=FEATURE_DRIFT,
    description=(
        "No feature's distribution at the latest scored snapshot drifted from the model's "
        f"training window by more than PSI {PSI_WARN}, the window's players reweighted to the "
        "snapshot's tenure mix (like with like: a young game's players are not compared with "
        "an old game's). Warn: retrain, or look at the data."
    ),
    pool=WAREHOUSE_POOL,
)
def feature_drift_psi(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        row = con.execute(
            f"SELECT scoring_date, any_value(model_version) FROM {SCORES_TABLE} "
            "WHERE scope = ? GROUP BY scoring_date ORDER BY scoring_date DESC LIMIT 1",
            [SNAPSHOT_SCOPE],
        ).fetchone()
        if row is None:
            raise dg.Failure(f"{SCORES_TABLE} has no snapshot scored: materialize churn_scores")
        scoring_date, version = row
        model = load(version, models_root())
        names = list(dict.fromkeys([*model.feature_names, TENURE_FEATURE]))
        drift = feature_drift(model, load_rows(con, names, snapshot_date=scoring_date))
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
            "largest PSI": dg.MetadataValue.float(
                round(float(drift["psi"].max()), 4) if len(drift) else 0.0
            ),
            "PSI by feature": dg.MetadataValue.md(drift_markdown(drift)),
        },
    )
