"""Feature drift: Population Stability Index between the training window and a scoring snapshot.

Bins are the training window's deciles (deduplicated, so a mostly-zero count gets few bins).
The training profile is stored with the model, so drift needs no access to old training rows.
Rule of thumb: PSI < 0.1 stable, 0.1-0.2 moderate shift, > 0.2 a shift worth a look.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

PSI_WARN = 0.2
_FLOOR = 1e-4  # empty bins would make the log infinite
_QUANTILES = np.linspace(0.1, 0.9, 9)


def _proportions(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=edges.size + 1)
    return counts / max(1, values.size)


def reference_profile(features: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per feature: decile edges of the training window and the share of rows per bin."""
    profile: dict[str, dict[str, Any]] = {}
    for name in features.columns:
        values = features[name].to_numpy(dtype=np.float64)
        edges = np.unique(np.quantile(values, _QUANTILES)) if values.size else np.array([])
        profile[name] = {
            "edges": edges.tolist(),
            "proportions": _proportions(values, edges).tolist(),
        }
    return profile


def population_stability(
    profile: dict[str, dict[str, Any]], features: pd.DataFrame
) -> pd.DataFrame:
    """PSI per feature present in both, largest first, with a `drifted` flag above PSI_WARN."""
    rows = []
    for name, entry in profile.items():
        if name not in features.columns:
            continue
        edges = np.asarray(entry["edges"], dtype=np.float64)
        expected = np.maximum(np.asarray(entry["proportions"], dtype=np.float64), _FLOOR)
        actual = np.maximum(_proportions(features[name].to_numpy(np.float64), edges), _FLOOR)
        psi = float(np.sum((actual - expected) * np.log(actual / expected)))
        rows.append({"feature": name, "psi": psi, "drifted": psi > PSI_WARN})
    frame = pd.DataFrame(rows, columns=["feature", "psi", "drifted"])
    return frame.sort_values(["psi", "feature"], ascending=[False, True]).reset_index(drop=True)
