"""What the registry stores, feature drift, and the plots for the UI."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd

from ml.dataset import LabeledSet, load_snapshot
from ml.drift import PSI_WARN, population_stability, reference_profile
from ml.evaluate import LOGISTIC, RECENCY
from ml.pipeline import TrainingResult
from ml.plots import calibration_png, markdown_image, roc_png, shap_summary_png
from ml.registry import PASSED, RegisteredModel, load
from ml.tenure import TenureBands
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
        "baselines.json",
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
    # The baselines come back too, scoring exactly as they did in the training run.
    assert reloaded.baselines == trained.baselines
    for name in (RECENCY, LOGISTIC):
        rule = reloaded.baselines.by_name()[name]
        again = trained.baselines.by_name()[name]
        np.testing.assert_array_equal(
            rule.probability(snapshot.features), again.probability(snapshot.features)
        )


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


def test_drift_compares_the_snapshot_with_the_window_at_the_same_tenure(
    strong_db: duckdb.DuckDBPyConnection,
    strong_model: RegisteredModel,
    strong_result: TrainingResult,
    strong_labeled: LabeledSet,
) -> None:
    # The simulated game launches on its first day: the training slice holds only young players,
    # the latest snapshot mostly old ones. Nothing in the players' behaviour changed.
    snapshot = load_snapshot(strong_db, strong_model.feature_names)
    train = strong_labeled.subset(
        strong_result.split.masks(strong_labeled.keys["snapshot_date"])["train"]
    )
    whole_population = reference_profile(train.features, bands=TenureBands((0,)))
    naive = population_stability(whole_population, snapshot.features)
    assert naive["drifted"].sum() >= 10  # what the check used to report
    drift = population_stability(strong_model.drift_profile, snapshot.features)
    assert not drift["drifted"].any(), drift.head()
    assert "tenure_days" not in set(drift["feature"])  # what the comparison holds equal


def test_drift_injected_into_a_snapshot_is_flagged(
    strong_db: duckdb.DuckDBPyConnection, strong_model: RegisteredModel
) -> None:
    snapshot = load_snapshot(strong_db, strong_model.feature_names)
    tilted = snapshot.features.copy()
    shifted = [c for c in tilted.columns if c.startswith(("rage_quits_", "losses_"))]
    tilted[shifted] *= 3  # e.g. a matchmaking change that makes everyone lose and rage
    drift = population_stability(strong_model.drift_profile, tilted).set_index("feature")
    flagged = set(drift.index[drift["drifted"]])
    assert {"rage_quits_7d", "rage_quits_14d", "losses_7d", "losses_14d"} <= flagged
    assert flagged <= set(shifted)


def test_plots_are_png_images_embeddable_in_markdown(strong_result: TrainingResult) -> None:
    images = [
        roc_png(strong_result.evaluation_labels, strong_result.evaluation_scores),
        calibration_png({"model": strong_result.calibration}),
        shap_summary_png(strong_result.shap_values, strong_result.shap_features),
    ]
    for png in images:
        assert png.startswith(PNG) and len(png) > 5_000
    assert markdown_image(images[0], "ROC").startswith("![ROC](data:image/png;base64,iVBOR")
