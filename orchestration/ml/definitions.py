"""What the ML domain contributes to the code location (its jobs and schedules are in
`orchestration.automation`)."""

import dagster as dg

from orchestration.ml.assets import churn_model, churn_training_set, score_churn
from orchestration.ml.checks import feature_drift_psi

defs = dg.Definitions(
    assets=[churn_training_set, churn_model, score_churn], asset_checks=[feature_drift_psi]
)
