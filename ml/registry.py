"""Model registry on disk: `<root>/<version>/` (the caller names the root; respawn's is
`$RESPAWN_HOME/models`, which orchestration knows: `ml` reads no settings of its own).

Each version directory holds the booster (XGBoost JSON), the feature list, the calibrator, the
metrics, the drift reference profile, the two baselines fit on the same rows, and a manifest
(training window, code version, params and a `status` of "passed" or "failed"). A directory
appears only complete: it is written under a hidden temporary name and renamed into place.

Scoring asks `choose_scorer`: the newest *passed* version, so a model that fails its checks is
kept for inspection but never scores and never replaces a good one. When no version has passed,
scoring uses the better baseline (by ROC-AUC on its evaluation slice) of the newest version, and
says so: a rule that is known to rank better is worth more than a model known to rank worse.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from ml.baselines import Baseline, Baselines
from ml.calibrate import Calibrator
from ml.evaluate import LOGISTIC, MODEL, RECENCY
from ml.train import predict_margin

PASSED = "passed"
FAILED = "failed"
MANIFEST = "manifest.json"
_FILES = {
    "booster": "booster.json",
    "features": "features.json",
    "calibrator": "calibrator.json",
    "metrics": "metrics.json",
    "drift_profile": "drift_profile.json",
    "baselines": "baselines.json",
}
_NAMES = {MODEL: "the model", RECENCY: "the recency rule", LOGISTIC: "the logistic regression"}


@dataclass(frozen=True)
class TrainedModel:
    """A calibrated booster and what describes it: what scoring and the UI need of a model."""

    booster: xgb.Booster
    feature_names: list[str]
    calibrator: Calibrator
    metrics: dict[str, Any]
    drift_profile: dict[str, Any]
    # Fit on the model's training rows; None for versions registered before they were stored.
    baselines: Baselines | None = field(default=None, kw_only=True)

    def margin(self, features: pd.DataFrame) -> np.ndarray:
        return predict_margin(self.booster, features, self.feature_names)

    def probability(self, features: pd.DataFrame) -> np.ndarray:
        return self.calibrator.probability(self.margin(features))


@dataclass(frozen=True)
class ModelArtifacts(TrainedModel):
    """Everything a training run produces: the model, and what its registration records."""

    training_window: dict[str, Any]
    checks: dict[str, bool]
    params: dict[str, Any] = field(default_factory=dict)
    horizon_days: int | None = None

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(self.checks.values())


@dataclass(frozen=True)
class RegisteredModel(TrainedModel):
    """A version of the registry, loaded back from its directory."""

    version: str
    path: Path
    manifest: dict[str, Any]

    @property
    def passed(self) -> bool:
        return self.manifest.get("status") == PASSED


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a model registry JSON file")


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=_jsonable) + "\n")


def code_version() -> str:
    """The git commit of the checkout when there is one, else the installed package version."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"respawn {importlib.metadata.version('respawn')}"
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def register(artifacts: ModelArtifacts, root: Path, now: datetime | None = None) -> RegisteredModel:
    """Write a new version directory under `root` atomically and return it loaded back."""
    root.mkdir(parents=True, exist_ok=True)
    created = now or datetime.now(UTC)
    booster_bytes = bytes(artifacts.booster.save_raw(raw_format="json"))
    version = f"{created:%Y%m%dT%H%M%S%fZ}-{hashlib.sha256(booster_bytes).hexdigest()[:8]}"
    staging = root / f".tmp-{version}-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        (staging / _FILES["booster"]).write_bytes(booster_bytes)
        _write_json(staging / _FILES["features"], artifacts.feature_names)
        _write_json(staging / _FILES["calibrator"], artifacts.calibrator.to_dict())
        _write_json(staging / _FILES["metrics"], artifacts.metrics)
        _write_json(staging / _FILES["drift_profile"], artifacts.drift_profile)
        if artifacts.baselines is not None:
            _write_json(staging / _FILES["baselines"], artifacts.baselines.to_dict())
        _write_json(
            staging / MANIFEST,
            {
                "version": version,
                "created_at": created.isoformat(),
                "status": PASSED if artifacts.passed else FAILED,
                "checks": artifacts.checks,
                "training_window": artifacts.training_window,
                "horizon_days": artifacts.horizon_days,
                "code_version": code_version(),
                "xgboost_version": xgb.__version__,
                "params": artifacts.params,
                "feature_count": len(artifacts.feature_names),
                "calibration_method": artifacts.calibrator.method,
                "files": _FILES,
            },
        )
        os.rename(staging, root / version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return load(version, root)


def load(version: str, root: Path) -> RegisteredModel:
    path = root / version
    if not (path / MANIFEST).is_file():
        raise FileNotFoundError(f"no model version {version!r} under {path.parent}")
    booster = xgb.Booster()
    booster.load_model(path / _FILES["booster"])

    def read(name: str) -> Any:
        return json.loads((path / _FILES[name]).read_text())

    has_baselines = (path / _FILES["baselines"]).is_file()
    return RegisteredModel(
        version=version,
        path=path,
        booster=booster,
        feature_names=list(read("features")),
        calibrator=Calibrator.from_dict(read("calibrator")),
        manifest=json.loads((path / MANIFEST).read_text()),
        metrics=read("metrics"),
        drift_profile=read("drift_profile"),
        baselines=Baselines.from_dict(read("baselines")) if has_baselines else None,
    )


def manifests(root: Path) -> list[dict[str, Any]]:
    """Manifests of every complete version, oldest first."""
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        manifest = path / MANIFEST
        if path.name.startswith(".") or not manifest.is_file():
            continue
        found.append(json.loads(manifest.read_text()))
    return sorted(found, key=lambda m: (m["created_at"], m["version"]))


def latest_passed(root: Path) -> RegisteredModel | None:
    """The newest version whose checks passed, or None."""
    passed = [m for m in manifests(root) if m.get("status") == PASSED]
    return load(passed[-1]["version"], root) if passed else None


def roc_auc_line(metrics: dict[str, Any]) -> str:
    """ "ROC-AUC on the evaluation slice: the model 0.701, the recency rule 0.722, ..."."""
    comparison = metrics.get("comparison", {})
    shown = [
        f"{_NAMES[name]} {comparison[name]['roc_auc']:.3f}"
        for name in (MODEL, RECENCY, LOGISTIC)
        if name in comparison
    ]
    return "ROC-AUC on the evaluation slice: " + ", ".join(shown)


@dataclass(frozen=True)
class ScoringChoice:
    """What scores: a version's model, or one of its baselines, and why, in plain words."""

    model: RegisteredModel
    scored_with: str  # MODEL, RECENCY or LOGISTIC
    note: str

    @property
    def scorer(self) -> RegisteredModel | Baseline:
        if self.scored_with == MODEL:
            return self.model
        assert self.model.baselines is not None
        return self.model.baselines.by_name()[self.scored_with]


def _better_baseline(model: RegisteredModel) -> str:
    comparison = model.metrics.get("comparison", {})
    return max((RECENCY, LOGISTIC), key=lambda name: comparison.get(name, {}).get("roc_auc", 0.0))


def choose_scorer(root: Path) -> ScoringChoice | None:
    """The newest passed version's model; else the better baseline of the newest version that
    stored its baselines; None when there is neither."""
    found = manifests(root)
    passed = [m for m in found if m.get("status") == PASSED]
    if passed:
        model = load(passed[-1]["version"], root)
        note = f"model {model.version}, which passed its checks"
        newer = found[found.index(passed[-1]) + 1 :]
        if newer:
            failed = load(newer[-1]["version"], root)
            note += (
                f"; the newer {failed.version} failed them ({roc_auc_line(failed.metrics)}) "
                "and is not used"
            )
        return ScoringChoice(model=model, scored_with=MODEL, note=note)
    for manifest in reversed(found):
        model = load(manifest["version"], root)
        if model.baselines is None:
            continue
        rule = _better_baseline(model)
        note = (
            f"no model has passed its checks: scored with {_NAMES[rule]} of version "
            f"{model.version}, the better baseline ({roc_auc_line(model.metrics)})"
        )
        return ScoringChoice(model=model, scored_with=rule, note=note)
    return None
