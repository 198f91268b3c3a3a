"""TreeSHAP contributions, the global ranking and the reason sentences."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from ml.dataset import load_snapshot
from ml.explain import contributions, global_ranking, top_positive
from ml.feature_contract import contract_features
from ml.pipeline import TrainingResult
from ml.reasons import POPULATION, USUAL, ReasonCatalog
from ml.registry import RegisteredModel
from ml.score import score_snapshot


def test_contributions_add_up_to_the_model_margin(
    strong_db: duckdb.DuckDBPyConnection, strong_model: RegisteredModel
) -> None:
    snapshot = load_snapshot(strong_db, strong_model.feature_names)
    contribs = contributions(strong_model.booster, snapshot.features, strong_model.feature_names)
    assert contribs.shape == (len(snapshot.user_ids), len(strong_model.feature_names) + 1)
    margin = strong_model.margin(snapshot.features)
    np.testing.assert_allclose(contribs.astype(np.float64).sum(axis=1), margin, atol=1e-4)


def test_reasons_are_the_three_largest_positive_contributions_in_order(
    strong_db: duckdb.DuckDBPyConnection, strong_model: RegisteredModel
) -> None:
    result = score_snapshot(strong_db, strong_model)
    snapshot = load_snapshot(strong_db, strong_model.feature_names)
    contribs = contributions(strong_model.booster, snapshot.features, strong_model.feature_names)
    names = np.array(strong_model.feature_names)
    by_user = result.reasons.groupby("user_id")
    checked = 0
    for row, user in enumerate(snapshot.user_ids):
        values = contribs[row, :-1]
        order = np.argsort(-values, kind="stable")
        expected = [names[i] for i in order[:3] if values[i] > 0]
        got = by_user.get_group(user) if user in by_user.groups else pd.DataFrame()
        assert list(got.get("feature", [])) == expected, user
        assert list(got.get("reason_rank", [])) == list(range(1, len(expected) + 1))
        np.testing.assert_allclose(
            got.get("contribution", []), [values[names == f][0] for f in expected], rtol=1e-6
        )
        checked += bool(expected)
    assert checked > 0.9 * len(snapshot.user_ids)


def test_rows_with_fewer_positive_contributions_get_fewer_reasons() -> None:
    contribs = np.array([[0.5, -0.2, 0.1, -0.3, 0.0, 1.0], [-1.0, -2.0, -0.1, -0.2, -0.3, 0.2]])
    top = top_positive(contribs, 3)
    assert top.index.tolist() == [[0, 2, -1], [-1, -1, -1]]
    assert top.value.tolist() == [[0.5, 0.1, 0.0], [0.0, 0.0, 0.0]]


def test_global_ranking_orders_features_by_mean_absolute_contribution(
    strong_result: TrainingResult,
) -> None:
    ranking = strong_result.ranking
    assert ranking["mean_abs_contribution"].is_monotonic_decreasing
    assert abs(ranking["share"].sum() - 1.0) < 1e-9
    # The planted causes (recency aside) are rage quits while losing and loss streaks.
    top = set(ranking["feature"].head(12))
    assert any("rage_quits" in f or "loss" in f for f in top), top
    toy = global_ranking(np.array([[1.0, -3.0, 0.5], [-1.0, 1.0, 0.5]]), ["a", "b"])
    assert toy["feature"].tolist() == ["b", "a"]


def _row(**values: float) -> tuple[ReasonCatalog, np.ndarray]:
    names = contract_features()
    data = dict.fromkeys(names, 0.0) | {"tenure_days": 60.0} | values
    catalog = ReasonCatalog(names, dict.fromkeys(names, 2.0))
    return catalog, np.array([data[n] for n in names])


def test_a_count_is_compared_with_the_players_own_earlier_weeks() -> None:
    catalog, row = _row(rage_quits_7d=4, rage_quits_28d=4)
    reason = catalog.reason(row, "rage_quits_7d")
    assert reason.text == "4 rage quits in the last 7 days, usually none"
    assert (reason.reference, reason.reference_kind) == (0.0, USUAL)
    catalog, row = _row(sessions_7d=1, sessions_28d=22)
    assert catalog.reason(row, "sessions_7d").text == (
        "1 session in the last 7 days, usually about 7"
    )


def test_a_new_player_is_compared_with_the_population_median() -> None:
    catalog, row = _row(rage_quits_7d=3, rage_quits_28d=3, tenure_days=5)
    reason = catalog.reason(row, "rage_quits_7d")
    assert reason.text == "3 rage quits in the last 7 days (typical player: 2)"
    assert reason.reference_kind == POPULATION


def test_rates_recency_and_trends_read_naturally() -> None:
    # Each sentence beside the values it reads (every other feature 0, tenure 60 days).
    catalog, row = _row(loss_rate_3d=0.8, matches_3d=5, loss_rate_28d=0.5, matches_28d=25)
    assert catalog.reason(row, "loss_rate_3d").text == (
        "lost 80% of matches in the last 3 days, usually 42%"
    )
    catalog, row = _row(days_since_last_session=9, gap_mean_days=2.1)
    assert catalog.reason(row, "days_since_last_session").text == (
        "last session 9 days ago, usually one session every 2.1 days"
    )
    catalog, row = _row(sessions_7d=2, sessions_14d=8, sessions_trend_7d=-4)
    assert catalog.reason(row, "sessions_trend_7d").text == (
        "2 sessions in the last 7 days, down from 6 the week before"
    )
    catalog, row = _row(current_loss_streak=5)
    assert catalog.reason(row, "current_loss_streak").text == (
        "lost the last 5 matches in a row (typical player: 2)"
    )


def test_every_contract_feature_and_an_unknown_one_get_a_sentence() -> None:
    names = [*contract_features(), "spend_usd_7d"]
    frame = pd.DataFrame([dict.fromkeys(names, 1.0)])
    catalog = ReasonCatalog.for_frame(frame)
    for name in names:
        reason = catalog.reason(frame.to_numpy()[0], name)
        assert reason.text and "nan" not in reason.text, name
    assert catalog.reason(frame.to_numpy()[0], "spend_usd_7d").text == (
        "spend usd 7d is 1 (typical player: 1)"
    )
