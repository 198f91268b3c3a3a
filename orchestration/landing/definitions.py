"""What the landing domain contributes to the code location."""

import dagster as dg

from orchestration.landing.assets import load_landed_shards
from orchestration.landing.checks import landing_freshness

defs = dg.Definitions(assets=[load_landed_shards], asset_checks=[landing_freshness])
