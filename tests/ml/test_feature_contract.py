"""The feature naming contract says what the dbt model builds: one list of windows, two places."""

from __future__ import annotations

import re
from pathlib import Path

from ml.feature_contract import LONGEST_WINDOW, WINDOWS

CHURN_FEATURES_SQL = (
    Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "marts" / "churn_features.sql"
)
# The Jinja line of the model that lists its windows: {%- set windows = [1, 3, 7, 14, 28] -%}
WINDOWS_LINE = re.compile(r"\{%-?\s*set\s+windows\s*=\s*\[(?P<days>[^\]]*)\]\s*-?%\}")


def test_the_contract_windows_are_the_windows_the_dbt_model_builds() -> None:
    match = WINDOWS_LINE.search(CHURN_FEATURES_SQL.read_text())
    assert match, (
        f"{CHURN_FEATURES_SQL} no longer sets `windows = [...]`: pin ml.feature_contract.WINDOWS "
        "to where the model now lists its windows"
    )
    assert tuple(int(days) for days in match["days"].split(",")) == WINDOWS
    assert max(WINDOWS) == LONGEST_WINDOW
