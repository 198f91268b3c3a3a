"""TreeSHAP contributions, the global ranking, and reasons that say something."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.dataset import load_snapshot
from ml.explain import contributions, global_ranking, top_positive
from ml.feature_contract import contract_features
from ml.pipeline import TrainingResult
from ml.reasons import (
    CANDIDATES_PER_PLAYER,
    EITHER,
    FALL,
    PEER,
    POPULATION,
    USUAL,
    ReasonCatalog,
    direction,
    render_reasons,
    shown,
    shown_percent,
)
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


@pytest.fixture(scope="module")
def scored(strong_db: duckdb.DuckDBPyConnection, strong_model: RegisteredModel):
    result = score_snapshot(strong_db, strong_model)
    snapshot = load_snapshot(strong_db, strong_model.feature_names)
    contribs = contributions(strong_model.booster, snapshot.features, strong_model.feature_names)
    return result, snapshot, contribs


def test_reasons_are_the_largest_contributions_that_read_as_a_risk_one_per_topic(
    scored, strong_model: RegisteredModel
) -> None:
    result, snapshot, contribs = scored
    catalog = ReasonCatalog(snapshot.features)
    names = np.array(strong_model.feature_names)
    by_user = result.reasons.groupby("user_id")
    with_reasons = 0
    for row, user in enumerate(snapshot.user_ids):
        values = contribs[row, :-1]
        order = np.argsort(-values, kind="stable")[:CANDIDATES_PER_PLAYER]
        expected, topics = [], set()
        for i in order:
            reason = catalog.reason(row, names[i])
            if values[i] > 0 and reason.reads_as_risk and reason.topic not in topics:
                expected.append(names[i])
                topics.add(reason.topic)
        expected = expected[:3]
        got = by_user.get_group(user) if user in by_user.groups else pd.DataFrame()
        assert list(got.get("feature", [])) == expected, user
        assert list(got.get("reason_rank", [])) == list(range(1, len(expected) + 1))
        np.testing.assert_allclose(
            got.get("contribution", []), [values[names == f][0] for f in expected], rtol=1e-6
        )
        with_reasons += bool(expected)
    # Most players at risk have something to be told; the safest may have nothing.
    assert with_reasons > 0.6 * len(snapshot.user_ids)


def test_no_reason_states_a_value_equal_to_its_reference(scored) -> None:
    reasons = scored[0].reasons
    assert (reasons["contribution"] > 0).all()
    assert reasons["reference_value"].notna().all()
    percent = reasons["reason"].str.contains("%")
    value, reference = reasons["feature_value"], reasons["reference_value"]
    same = np.where(
        percent,
        shown_percent(value) == shown_percent(reference),
        shown(value) == shown(reference),
    )
    assert not same.any(), reasons[same].head()
    assert not reasons["reason"].str.contains("longest break so far 0 days").any()


def test_a_reason_raising_risk_reads_as_one(scored) -> None:
    reasons = scored[0].reasons
    for r in reasons.itertuples():
        # A rate over no matches states the match count: fewer matches read as the risk.
        wanted = FALL if r.reason.startswith("no matches") else direction(r.feature)
        if wanted == EITHER:
            continue
        assert np.sign(r.feature_value - r.reference_value) == wanted, r.reason


def _catalog(player: dict[str, float], peers: dict[str, float], n_peers: int = 30):
    """A frame of one player (row 0) and `n_peers` identical other players; every other
    feature 0, tenure 60 days unless set."""
    names = contract_features()
    base = dict.fromkeys(names, 0.0) | {"tenure_days": 60.0}
    rows = [base | player] + [base | peers] * n_peers
    return ReasonCatalog(pd.DataFrame(rows, columns=names))


def test_a_count_is_compared_with_the_players_own_earlier_weeks() -> None:
    catalog = _catalog({"rage_quits_7d": 4, "rage_quits_28d": 4}, {})
    reason = catalog.reason(0, "rage_quits_7d")
    assert reason.text == "4 rage quits in the last 7 days, usually none"
    assert (reason.reference, reason.reference_kind, reason.reads_as_risk) == (0.0, USUAL, True)
    catalog = _catalog({"sessions_7d": 1, "sessions_28d": 22}, {})
    assert catalog.reason(0, "sessions_7d").text == (
        "1 session in the last 7 days, usually about 7"
    )


def test_fewer_rage_quits_than_usual_never_reads_as_raising_risk() -> None:
    # The issue's own example: "4 rage quits in the last 14 days, usually about 6.2".
    catalog = _catalog({"rage_quits_14d": 4, "rage_quits_28d": 10.2}, {})
    reason = catalog.reason(0, "rage_quits_14d")
    assert reason.text == "4 rage quits in the last 14 days, usually about 6.2"
    assert not reason.reads_as_risk
    contribs = np.zeros((31, len(catalog.feature_names) + 1))
    contribs[0, catalog.position["rage_quits_14d"]] = 2.0
    assert render_reasons(catalog, contribs).empty


def test_a_new_player_is_compared_with_players_at_the_same_tenure() -> None:
    names = contract_features()
    base = dict.fromkeys(names, 0.0)
    rows = (
        [base | {"tenure_days": 5, "rage_quits_7d": 3, "rage_quits_28d": 3}]
        + [base | {"tenure_days": 5, "rage_quits_7d": 1}] * 25  # peers: day 5
        + [base | {"tenure_days": 90, "rage_quits_7d": 6}] * 60  # veterans: not the reference
    )
    catalog = ReasonCatalog(pd.DataFrame(rows, columns=names))
    reason = catalog.reason(0, "rage_quits_7d")
    assert reason.text == "3 rage quits in the last 7 days (typical player on days 5-6: 1)"
    assert (reason.reference, reason.reference_kind) == (1.0, PEER)
    # Too few peers at a tenure: the whole frame's median, said as such.
    few = ReasonCatalog(pd.DataFrame(rows[:5] + rows[26:], columns=names))
    fallback = few.reason(0, "rage_quits_7d")
    assert fallback.reference_kind == POPULATION
    assert fallback.text == "3 rage quits in the last 7 days (typical player: 6)"


def test_a_value_equal_to_the_typical_one_is_never_a_reason() -> None:
    catalog = _catalog({"rage_quits_28d": 1}, {"rage_quits_28d": 1})
    reason = catalog.reason(0, "rage_quits_28d")
    assert reason.text == "1 rage quit in the last 28 days (typical player from day 56 on: 1)"
    assert not reason.reads_as_risk


def test_a_one_session_player_is_not_told_about_their_longest_break() -> None:
    catalog = _catalog({"gap_max_days": 0, "tenure_days": 0}, {"gap_max_days": 0})
    assert not catalog.reason(0, "gap_max_days").reads_as_risk
    catalog = _catalog({"gap_max_days": 0}, {"gap_max_days": 3})
    assert not catalog.reason(0, "gap_max_days").reads_as_risk
    catalog = _catalog({"gap_max_days": 9}, {"gap_max_days": 2})
    reason = catalog.reason(0, "gap_max_days")
    assert reason.text == "longest break so far 9 days (typical player from day 56 on: 2 days)"
    assert reason.reads_as_risk
    # "Typical" among the players who have had a break: not "0 days" because most have not.
    names = contract_features()
    base = dict.fromkeys(names, 0.0) | {"tenure_days": 2.0}
    rows = [base | {"gap_mean_days": 0.9}] + [base] * 30 + [base | {"gap_mean_days": 0.3}] * 25
    reason = ReasonCatalog(pd.DataFrame(rows, columns=names)).reason(0, "gap_mean_days")
    assert reason.text == "usually 0.9 days between sessions (typical player on day 2: 0.3 days)"


def test_rates_recency_and_trends_read_naturally() -> None:
    # Each sentence beside the values it reads (every other feature 0, tenure 60 days).
    catalog = _catalog(
        {"loss_rate_3d": 0.8, "matches_3d": 5, "loss_rate_28d": 0.5, "matches_28d": 25}, {}
    )
    assert catalog.reason(0, "loss_rate_3d").text == (
        "lost 80% of matches in the last 3 days, usually 42%"
    )
    catalog = _catalog({"days_since_last_session": 9, "gap_mean_days": 2.1}, {})
    assert catalog.reason(0, "days_since_last_session").text == (
        "last session 9 days ago, usually one session every 2.1 days"
    )
    catalog = _catalog({"current_gap_days": 1.25, "gap_mean_days": 0.5}, {})
    assert catalog.reason(0, "current_gap_days").text == (
        "away for 30 hours, usually one session every 0.5 days"
    )
    catalog = _catalog({"sessions_7d": 2, "sessions_14d": 8, "sessions_trend_7d": -4}, {})
    reason = catalog.reason(0, "sessions_trend_7d")
    assert reason.text == "2 sessions in the last 7 days, down from 6 the week before"
    assert reason.reads_as_risk
    catalog = _catalog({"current_loss_streak": 5}, {"current_loss_streak": 2})
    assert catalog.reason(0, "current_loss_streak").text == (
        "lost the last 5 matches in a row (typical player from day 56 on: 2)"
    )
    # A rate over no matches says the player stopped playing.
    catalog = _catalog({"win_rate_3d": 0.0, "matches_3d": 0, "matches_28d": 20}, {})
    reason = catalog.reason(0, "win_rate_3d")
    assert reason.text == "no matches in the last 3 days, usually about 2.4"
    assert reason.reads_as_risk and reason.topic == "matches"


def test_one_reason_per_topic_and_fewer_reasons_when_fewer_read_as_a_risk() -> None:
    catalog = _catalog(
        {"rage_quits_3d": 3, "rage_quits_7d": 3, "rage_quits_28d": 3, "sessions_trend_7d": 0},
        {},
    )
    contribs = np.zeros((31, len(catalog.feature_names) + 1))
    contribs[0, catalog.position["rage_quits_3d"]] = 1.0
    contribs[0, catalog.position["rage_quits_7d"]] = 2.0
    contribs[0, catalog.position["sessions_trend_7d"]] = 0.5  # no change: nothing to say
    reasons = render_reasons(catalog, contribs)
    assert reasons["feature"].tolist() == ["rage_quits_7d"]
    assert reasons["reason"].tolist() == ["3 rage quits in the last 7 days, usually none"]


def test_rows_with_fewer_positive_contributions_get_fewer_candidates() -> None:
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


def test_every_contract_feature_and_an_unknown_one_get_a_sentence() -> None:
    names = [*contract_features(), "spend_usd_7d"]
    frame = pd.DataFrame([dict.fromkeys(names, 1.0)] + [dict.fromkeys(names, 2.0)] * 30)
    catalog = ReasonCatalog(frame)
    for name in names:
        reason = catalog.reason(0, name)
        assert reason.text and "nan" not in reason.text, name
    # (the player is alone on day 1, so the reference is everyone's)
    assert catalog.reason(0, "spend_usd_7d").text == "spend usd 7d is 1 (typical player: 2)"
