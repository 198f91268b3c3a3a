"""The result of an asset check, as every check here reports it: passed unless there is a
problem, and then the problem, in words, is the description."""

from __future__ import annotations

from typing import Any

import dagster as dg


def check_result(
    key: dg.AssetKey,
    name: str,
    problem: str | None,
    metadata: dict[str, Any],
    *,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=name,
        passed=problem is None,
        severity=severity,
        description=problem,
        metadata=metadata,
    )
