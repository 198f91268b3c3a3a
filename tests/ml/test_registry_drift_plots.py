"""What the registry stores, feature drift, and the plots for the UI."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd

from ml.dataset import load_snapshot
from ml.drift import PSI_WARN, population_stability, reference_profile
from ml.pipeline import TrainingResult
from ml.plots import calibration_png, markdown_image, roc_png, shap_summary_png
from ml.registry import PASSED, RegisteredModel, load
from ml.train import dmatrix

PNG = b"\x89PNG\r\n\x1a\n"


def test_a_registered_model_holds_everything_scoring_and_audits_need(
    strong_model: RegisteredModel, strong_result: TrainingResult
) -> None:
    files = {p.name for p in strong_model.path.iterdir()}
    assert {
        "booster.json",
        "features.json",
        "calibrator.json",
        "metrics.json",
        "drift_profile.json",
        "manifest.json",
    } <= files
    manifest = json.loads((strong_model.path / "manifest.json").read_text())
    assert manifest["status"] == PASSED
    assert manifest["training_window"]["train"]["start"] == "2026-01-01"
    assert manifest["horizon_days"] == 14
    assert manifest["code_version"]
    assert manifest["params"]["tree_method"] == "hist"
    metrics = json.loads((strong_model.path / "metrics.json").read_text())
    assert set(metrics["comparison"]) >= {"model", "recency_rule", "logistic_regression"}


def test_a_reloaded_model_predicts_exactly_like_the_trained_one(
    strong_db: duckdb.DuckDBPyConnection,
    strong_model: RegisteredModel,
    strong_result: TrainingResult,
) -> None:
    snapshot = load_snapshot(strong_db, strong_model.feature_names)
    reloaded = load(strong_model.version, strong_model.path.parent)
    trained = strong_result.artifacts
    expected = trained.calibrator.probability(
        trained.booster.predict(
            dmatrix(snapshot.features, trained.feature_names),
            output_margin=True,
        )
    )
    assert np.array_equal(reloaded.probability(snapshot.features), expected)


def test_psi_is_near_zero_for_the_same_distribution_and_flags_a_shift() -> None:
    rng = np.random.default_rng(0)
    training = pd.DataFrame(
        {"stable": rng.poisson(3, 5000), "shifting": rng.normal(0, 1, 5000), "zeros": 0.0}
    )
    profile = reference_profile(training)
    later = pd.DataFrame(
        {"stable": rng.poisson(3, 4000), "shifting": rng.normal(1.0, 1, 4000), "zeros": 0.0}
    )
    drift = population_stability(profile, later).set_index("feature")
    assert drift.loc["stable", "psi"] < 0.02
    assert drift.loc["zeros", "psi"] == 0.0
    assert drift.loc["shifting", "psi"] > PSI_WARN
    assert drift.loc["shifting", "drifted"] and not drift.loc["stable", "drifted"]
    assert drift.index[0] == "shifting"


def test_plots_are_png_images_embeddable_in_markdown(strong_result: TrainingResult) -> None:
    images = [
        roc_png(strong_result.evaluation_labels, strong_result.evaluation_scores),
        calibration_png({"model": strong_result.calibration}),
        shap_summary_png(strong_result.shap_values, strong_result.shap_features),
    ]
    for png in images:
        assert png.startswith(PNG) and len(png) > 5_000
    assert markdown_image(images[0], "ROC").startswith("![ROC](data:image/png;base64,iVBOR")
