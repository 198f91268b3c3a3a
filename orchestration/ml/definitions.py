"""What the ML domain contributes to the code location: its assets, the drift check, and the
on-demand scoring job (`churn_scoring`: pick a snapshot date or a tenure cohort in the
Launchpad, or run `respawn score`). The scheduled jobs are in `orchestration.automation`."""

import dagster as dg

from orchestration import asset_keys
from orchestration.ml.assets import churn_model, churn_training_set, score_churn
from orchestration.ml.checks import feature_drift_psi

SCORING_JOB = "churn_scoring"

churn_scoring = dg.define_asset_job(
    SCORING_JOB,
    selection=dg.AssetSelection.assets(asset_keys.CHURN_SCORES, asset_keys.CHURN_REASONS),
    description=(
        "Score the latest snapshot, a chosen date (`snapshot_date`) or a tenure cohort "
        "(`tenure_days`: every player on day N after install) with the newest model that passed "
        "its checks; the config is the `score_churn` op's."
    ),
)

defs = dg.Definitions(
    assets=[churn_training_set, churn_model, score_churn],
    asset_checks=[feature_drift_psi],
    jobs=[churn_scoring],
)
