"""What the warehouse domain contributes to the code location."""

import dagster as dg

from orchestration.warehouse.assets import deduplicate_events
from orchestration.warehouse.checks import event_id_unique

defs = dg.Definitions(assets=[deduplicate_events], asset_checks=[event_id_unique])
