"""What the exports domain contributes to the code location: built by a function, since its
resource names the exports folder of the code location's home."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.exports.assets import churn_score_exports
from orchestration.exports.layout import exports_root
from orchestration.exports.resources import ExportsResource


def build_exports_definitions(home: Path | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=[churn_score_exports],
        resources={"exports": ExportsResource(root=str(exports_root(home)))},
    )
