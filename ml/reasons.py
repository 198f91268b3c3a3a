"""Reason catalog: a feature name from the naming contract becomes a sentence a live-ops team can
act on, with the player's own value and a reference.

The reference is the player's usual value when their history allows it (for a count over the last
N days: the same count over the rest of their 28 days, scaled to N days; for a rate: the rate over
those earlier matches; for recency: their mean gap between sessions), else the population median
at the scoring snapshot. Unknown feature names still get a readable sentence, never an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.explain import TopContributions
from ml.feature_contract import LONGEST_WINDOW, parse_feature, windowed_feature

USUAL = "usual"
POPULATION = "population"
# A player's own history counts as "usual" once it spans at least this many earlier days.
MIN_HISTORY_DAYS = 7

_COUNT_NOUNS: dict[str, tuple[str, str]] = {
    "sessions": ("session", "sessions"),
    "matches": ("match", "matches"),
    "wins": ("win", "wins"),
    "losses": ("loss", "losses"),
    "rage_quits": ("rage quit", "rage quits"),
    "disconnects_network": ("network disconnect", "network disconnects"),
    "disconnects_quit": ("quit mid-match", "quits mid-match"),
    "disconnects_crash": ("crash", "crashes"),
    "minutes_played": ("minute played", "minutes played"),
}
_RATE_PHRASES: dict[str, str] = {
    "win_rate": "won {value} of matches",
    "loss_rate": "lost {value} of matches",
    "bot_share": "{value} of matches against bots",
}
_ENTRY_POINTS: dict[str, str] = {
    "entry_share_lobby_28d": "from the lobby",
    "entry_share_matchmaking_28d": "from matchmaking",
    "entry_share_invite_28d": "from an invite",
}
_TRENDS: dict[str, tuple[str, str]] = {
    "sessions_trend_7d": ("sessions", "sessions"),
    "matches_trend_7d": ("matches", "matches"),
    "minutes_trend_7d": ("minutes_played", "minutes played"),
}


@dataclass(frozen=True)
class Reason:
    feature: str
    value: float
    reference: float | None
    reference_kind: str | None  # USUAL, POPULATION or None
    text: str


def number(value: float) -> str:
    """1 -> "1", 2.25 -> "2.2", 99.8 -> "100": one decimal below 10, whole numbers above."""
    value = float(value)
    if abs(value) >= 10:
        return str(round(value))
    rounded = round(value, 1)
    whole = round(rounded)
    return str(whole) if rounded == whole else f"{rounded:.1f}"


def percent(value: float) -> str:
    return f"{round(100 * float(value))}%"


def _period(days: int) -> str:
    return "in the last day" if days == 1 else f"in the last {days} days"


class ReasonCatalog:
    """Renders reasons for rows of one feature frame (e.g. the scoring snapshot)."""

    def __init__(self, feature_names: list[str], population: Mapping[str, float]) -> None:
        self.feature_names = list(feature_names)
        self.position = {name: i for i, name in enumerate(self.feature_names)}
        self.population = dict(population)

    @classmethod
    def for_frame(cls, features: pd.DataFrame) -> ReasonCatalog:
        """Population references are the medians of this frame."""
        return cls(list(features.columns), features.median(numeric_only=True).to_dict())

    # -- helpers reading other features of the same row --------------------------------------
    def _get(self, row: np.ndarray, name: str) -> float | None:
        i = self.position.get(name)
        return None if i is None else float(row[i])

    def _typical(self, name: str, as_percent: bool = False) -> tuple[float | None, str]:
        median = self.population.get(name)
        if median is None or not np.isfinite(median):
            return None, ""
        shown = percent(median) if as_percent else number(median)
        return float(median), f"typical player: {shown}"

    def _prior_days(self, row: np.ndarray, days: int) -> int:
        """Earlier days of the 28-day window that the player actually existed for."""
        tenure = self._get(row, "tenure_days")
        lived = LONGEST_WINDOW if tenure is None else min(LONGEST_WINDOW, int(tenure) + 1)
        return lived - days

    # -- the catalog -------------------------------------------------------------------------
    def reason(self, row: np.ndarray, feature: str) -> Reason:
        value = float(row[self.position[feature]])
        parsed = parse_feature(feature)
        if parsed.window_days is not None:
            if parsed.base in _COUNT_NOUNS:
                return self._count(row, feature, value, parsed.base, parsed.window_days)
            if parsed.base in _RATE_PHRASES:
                return self._rate(row, feature, value, parsed.base, parsed.window_days)
            if parsed.base == "max_loss_streak":
                ref, ref_text = self._typical(feature)
                text = f"longest losing streak of {number(value)} {_period(parsed.window_days)}"
                return Reason(feature, value, ref, POPULATION, _join(text, ref_text))
        render = _SCALARS.get(feature)
        if render is not None:
            return render(self, row, feature, value)
        return self._generic(feature, value)

    def _count(self, row: np.ndarray, feature: str, value: float, base: str, days: int) -> Reason:
        singular, plural = _COUNT_NOUNS[base]
        shown = number(value)
        text = f"{'no' if shown == '0' else shown} {singular if shown == '1' else plural}"
        text += f" {_period(days)}"
        longest = self._get(row, windowed_feature(base, LONGEST_WINDOW))
        prior_days = self._prior_days(row, days)
        if days < LONGEST_WINDOW and longest is not None and prior_days >= MIN_HISTORY_DAYS:
            usual = max(0.0, longest - value) * days / prior_days
            shown = number(usual)
            usual_text = "usually none" if shown == "0" else f"usually about {shown}"
            return Reason(feature, value, usual, USUAL, f"{text}, {usual_text}")
        ref, ref_text = self._typical(feature)
        return Reason(
            feature, value, ref, POPULATION if ref is not None else None, _join(text, ref_text)
        )

    def _rate(self, row: np.ndarray, feature: str, value: float, base: str, days: int) -> Reason:
        matches = self._get(row, windowed_feature("matches", days))
        if matches == 0 and windowed_feature("matches", days) in self.position:
            # A rate over no matches is 0 by convention; what it really says is "stopped playing".
            played = self._count(row, windowed_feature("matches", days), 0.0, "matches", days)
            return Reason(feature, value, played.reference, played.reference_kind, played.text)
        text = f"{_RATE_PHRASES[base].format(value=percent(value))} {_period(days)}"
        matches_28 = self._get(row, windowed_feature("matches", LONGEST_WINDOW))
        rate_28 = self._get(row, windowed_feature(base, LONGEST_WINDOW))
        if (
            days < LONGEST_WINDOW
            and matches is not None
            and matches_28 is not None
            and rate_28 is not None
            and matches_28 - matches > 0
        ):
            usual = (rate_28 * matches_28 - value * matches) / (matches_28 - matches)
            usual = float(np.clip(usual, 0.0, 1.0))
            return Reason(feature, value, usual, USUAL, f"{text}, usually {percent(usual)}")
        ref, ref_text = self._typical(feature, as_percent=True)
        return Reason(
            feature, value, ref, POPULATION if ref is not None else None, _join(text, ref_text)
        )

    def _recency(self, row: np.ndarray, feature: str, value: float) -> Reason:
        usual_gap = self._get(row, "gap_mean_days")
        if feature == "days_since_last_session":
            text = (
                "played on the snapshot day"
                if value == 0
                else (f"last session {number(value)} day{'s' if number(value) != '1' else ''} ago")
            )
        else:
            text = f"away for {number(value)} days"
        if usual_gap:
            return Reason(
                feature,
                value,
                usual_gap,
                USUAL,
                f"{text}, usually one session every {number(usual_gap)} days",
            )
        ref, ref_text = self._typical(feature)
        return Reason(
            feature, value, ref, POPULATION if ref is not None else None, _join(text, ref_text)
        )

    def _trend(self, row: np.ndarray, feature: str, value: float) -> Reason:
        base, noun = _TRENDS[feature]
        last_week = self._get(row, windowed_feature(base, 7))
        two_weeks = self._get(row, windowed_feature(base, 14))
        if last_week is not None and two_weeks is not None:
            before = two_weeks - last_week
            direction = "down from" if value < 0 else ("up from" if value > 0 else "same as")
            text = (
                f"{number(last_week)} {noun} in the last 7 days, {direction} {number(before)}"
                " the week before"
            )
            return Reason(feature, value, before, USUAL, text)
        change = "fewer" if value < 0 else "more"
        return Reason(
            feature, value, 0.0, USUAL, f"{number(abs(value))} {change} {noun} than the week before"
        )

    def _with_population(self, text: str, feature: str, value: float, pct: bool = False) -> Reason:
        ref, ref_text = self._typical(feature, as_percent=pct)
        return Reason(
            feature, value, ref, POPULATION if ref is not None else None, _join(text, ref_text)
        )

    def _generic(self, feature: str, value: float) -> Reason:
        return self._with_population(
            f"{feature.replace('_', ' ')} is {number(value)}", feature, value
        )


def _join(text: str, reference_text: str) -> str:
    return f"{text} ({reference_text})" if reference_text else text


def _gap_vs_usual(c: ReasonCatalog, row: np.ndarray, feature: str, value: float) -> Reason:
    text = f"current break is {number(value)} times their usual gap between sessions"
    return Reason(feature, value, 1.0, USUAL, text)


def _entry(c: ReasonCatalog, row: np.ndarray, feature: str, value: float) -> Reason:
    text = f"{percent(value)} of sessions started {_ENTRY_POINTS[feature]} in the last 28 days"
    return c._with_population(text, feature, value, pct=True)


def _population_only(template: str) -> Callable[[ReasonCatalog, np.ndarray, str, float], Reason]:
    def render(c: ReasonCatalog, row: np.ndarray, feature: str, value: float) -> Reason:
        return c._with_population(template.format(value=number(value)), feature, value)

    return render


_SCALARS: dict[str, Callable[[ReasonCatalog, np.ndarray, str, float], Reason]] = {
    "days_since_last_session": ReasonCatalog._recency,
    "current_gap_days": ReasonCatalog._recency,
    "current_gap_vs_usual": _gap_vs_usual,
    "gap_mean_days": _population_only("usually {value} days between sessions"),
    "gap_max_days": _population_only("longest break so far {value} days"),
    "sessions_trend_7d": ReasonCatalog._trend,
    "matches_trend_7d": ReasonCatalog._trend,
    "minutes_trend_7d": ReasonCatalog._trend,
    "tenure_days": _population_only("playing for {value} days"),
    "current_loss_streak": _population_only("lost the last {value} matches in a row"),
    **{name: _entry for name in _ENTRY_POINTS},
}


def render_reasons(
    features: pd.DataFrame, top: TopContributions, catalog: ReasonCatalog | None = None
) -> pd.DataFrame:
    """One row per (player row, reason rank) for every positive top contribution."""
    catalog = catalog or ReasonCatalog.for_frame(features)
    names = list(features.columns)
    if names != catalog.feature_names:
        features = features[catalog.feature_names]
        names = catalog.feature_names
    values = features.to_numpy(dtype=np.float64)
    rows, ranks, feats, vals, refs, kinds, contribs, texts = ([] for _ in range(8))
    for r, c in zip(*np.nonzero(top.index >= 0), strict=True):
        reason = catalog.reason(values[r], names[top.index[r, c]])
        rows.append(r)
        ranks.append(c + 1)
        feats.append(reason.feature)
        vals.append(reason.value)
        refs.append(reason.reference)
        kinds.append(reason.reference_kind)
        contribs.append(float(top.value[r, c]))
        texts.append(reason.text)
    return pd.DataFrame(
        {
            "row": np.asarray(rows, dtype=np.int64),
            "reason_rank": np.asarray(ranks, dtype=np.int32),
            "feature": pd.Series(feats, dtype=object),
            "feature_value": np.asarray(vals, dtype=np.float64),
            "reference_value": pd.Series(refs, dtype="Float64"),
            "reference_kind": pd.Series(kinds, dtype=object),
            "contribution": np.asarray(contribs, dtype=np.float64),
            "reason": pd.Series(texts, dtype=object),
        }
    )
