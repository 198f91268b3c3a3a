"""Feature drift: Population Stability Index between a model's reference rows and a scoring
snapshot, comparing like with like.

A snapshot's features depend on how long its players have been in the game (a 28-day count is
small for a player on day 3, whatever the game does), and the mix of tenures moves as a game
grows: a young game's training window holds only new players, and its later snapshots mostly old
ones. Compared as two whole populations, every such feature "drifts" while nothing changed
(45 features did on the demo). So the reference is kept per tenure band (`ml.tenure.DRIFT`):
for each feature, the share of the reference rows in each bin, per band. A snapshot is compared
with the reference *reweighted to the snapshot's own tenure mix*: the distribution the reference
players would have if they had the snapshot's tenures. What remains is a change in behaviour at
equal tenure. A band the reference has too few rows of borrows the nearest band that has enough.
Tenure itself (in days or hours) is what the comparison holds equal, so it is not one of the
features compared (a game that ages moves its players' tenure within the last band; that is no
change in behaviour).

Bins are the reference rows' deciles over all bands (deduplicated, so a mostly-zero count gets
few bins). The profile is stored with the model, so drift needs no access to old training rows.
Rule of thumb: PSI < 0.1 stable, 0.1-0.2 moderate shift, > 0.2 a shift worth a look.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ml.feature_contract import TENURE_FEATURE, TENURE_FEATURES
from ml.tenure import DRIFT, TenureBands

PSI_WARN = 0.2
PROFILE_VERSION = 2
# A tenure band's reference proportions are used once it holds this many reference rows.
MIN_BAND_ROWS = 50
_FLOOR = 1e-4  # empty bins would make the log infinite
_QUANTILES = np.linspace(0.1, 0.9, 9)


def _bins(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.searchsorted(edges, values, side="left")


def _tenure(features: pd.DataFrame, tenure_days: np.ndarray | None) -> np.ndarray:
    if tenure_days is not None:
        return np.asarray(tenure_days, dtype=np.float64)
    if TENURE_FEATURE in features.columns:
        return features[TENURE_FEATURE].to_numpy(dtype=np.float64)
    return np.zeros(len(features))


def reference_profile(
    features: pd.DataFrame, tenure_days: np.ndarray | None = None, bands: TenureBands = DRIFT
) -> dict[str, Any]:
    """Per feature: decile edges of the reference rows and, per tenure band, the share of that
    band's rows in each bin."""
    band = bands.index(_tenure(features, tenure_days))
    counts = np.bincount(band, minlength=len(bands))
    out: dict[str, Any] = {
        "version": PROFILE_VERSION,
        "band_starts": list(bands.starts),
        "band_rows": counts.tolist(),
        "features": {},
    }
    for name in features.columns:
        values = features[name].to_numpy(dtype=np.float64)
        edges = np.unique(np.quantile(values, _QUANTILES)) if values.size else np.array([])
        cells = np.zeros((len(bands), edges.size + 1))
        np.add.at(cells, (band, _bins(values, edges)), 1.0)
        shares = cells / np.maximum(counts, 1)[:, None]
        out["features"][name] = {"edges": edges.tolist(), "proportions": shares.tolist()}
    return out


def _nearest_usable(band_rows: np.ndarray) -> np.ndarray:
    """For each band, the band whose reference stands in for it (itself when it has enough rows,
    else the nearest that has, the younger one on a tie)."""
    usable = np.flatnonzero(band_rows >= MIN_BAND_ROWS)
    if usable.size == 0:  # a small reference: all its rows as one band
        usable = np.flatnonzero(band_rows > 0)
    if usable.size == 0:
        return np.zeros(band_rows.size, dtype=np.int64)
    distance = np.abs(np.arange(band_rows.size)[:, None] - usable[None, :])
    return usable[np.argmin(distance, axis=1)]


def _single_band(profile: dict[str, Any]) -> dict[str, Any]:
    """A profile of the first format (one population, no bands) in the banded format."""
    return {
        "version": PROFILE_VERSION,
        "band_starts": [0],
        "band_rows": [MIN_BAND_ROWS],
        "features": {
            name: {"edges": entry["edges"], "proportions": [entry["proportions"]]}
            for name, entry in profile.items()
        },
    }


def population_stability(
    profile: dict[str, Any], features: pd.DataFrame, tenure_days: np.ndarray | None = None
) -> pd.DataFrame:
    """PSI per feature present in both, largest first, with a `drifted` flag above PSI_WARN:
    the snapshot against the reference reweighted to the snapshot's tenure mix."""
    if profile.get("version") != PROFILE_VERSION:
        profile = _single_band(profile)
    bands = TenureBands(tuple(int(s) for s in profile["band_starts"]))
    stand_in = _nearest_usable(np.asarray(profile["band_rows"], dtype=np.int64))
    band = stand_in[bands.index(_tenure(features, tenure_days))]
    mix = np.bincount(band, minlength=len(bands)) / max(1, band.size)
    rows = []
    for name, entry in profile["features"].items():
        if name not in features.columns or name in TENURE_FEATURES:
            continue
        edges = np.asarray(entry["edges"], dtype=np.float64)
        reference = np.asarray(entry["proportions"], dtype=np.float64)
        expected = np.maximum(mix @ reference, _FLOOR)
        values = features[name].to_numpy(np.float64)
        counts = np.bincount(_bins(values, edges), minlength=edges.size + 1)
        actual = np.maximum(counts / max(1, values.size), _FLOOR)
        psi = float(np.sum((actual - expected) * np.log(actual / expected)))
        rows.append({"feature": name, "psi": psi, "drifted": psi > PSI_WARN})
    frame = pd.DataFrame(rows, columns=["feature", "psi", "drifted"])
    return frame.sort_values(["psi", "feature"], ascending=[False, True]).reset_index(drop=True)
