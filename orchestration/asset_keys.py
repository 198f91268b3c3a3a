"""Every asset key of the code location, in one place.

The Python assets are defined with these keys, the jobs select by them, and the ML assets depend
on the dbt marts through them. The dbt models' keys are made by `RespawnDbtTranslator` from the
manifest ([folder, model]); the two marts the ML assets read are named here as it names them (a
test checks that the graph has them).
"""

from __future__ import annotations

import dagster as dg

# -- landing: what the day's published shards hold, loaded as they are -------------------------
RAW_EVENTS = dg.AssetKey("raw_events")
DEADLETTER_EVENTS = dg.AssetKey("deadletter_events")

# -- warehouse: one row per event_id, and what the merge kept out ------------------------------
EVENTS = dg.AssetKey("events")  # the dbt source `respawn.events`
EVENT_ID_CONFLICTS = dg.AssetKey("event_id_conflicts")
QUARANTINED_EVENTS = dg.AssetKey("quarantined_events")

# -- dbt marts read by the ML assets -------------------------------------------------------------
CHURN_FEATURES = dg.AssetKey(["marts", "churn_features"])
CHURN_LABELS = dg.AssetKey(["marts", "churn_labels"])
FCT_SESSIONS = dg.AssetKey(["marts", "fct_sessions"])  # the new-player evaluation's labels

# -- ml ----------------------------------------------------------------------------------------
CHURN_TRAINING_SET = dg.AssetKey("churn_training_set")
CHURN_MODEL = dg.AssetKey("churn_model")
CHURN_SCORES = dg.AssetKey("churn_scores")
CHURN_REASONS = dg.AssetKey("churn_reasons")

# -- exports: what the game team reads ----------------------------------------------------------
CHURN_SCORE_EXPORTS = dg.AssetKey("churn_score_exports")
