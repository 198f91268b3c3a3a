"""Segments of a scoring date's players: who is at risk, who can still be reached, by tier and
by tenure. The HTML report and `respawn scores` cut the exported scores the same way.

"At risk" is the High and Medium tiers (probability >= 20%: `ml.score`). "Reachable" is a player
who played recently enough to be reached in the game: the scores' own flag when the scoring adds
one, else a session within the last `REACHABLE_DAYS` days.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ml.score import TIERS

AT_RISK_TIERS = TIERS[:2]  # High, Medium
REACHABLE_DAYS = 7
RECENT_DAYS = 3  # "high risk, played in the last 3 days"
LAST_PLAYED = "days_since_last_session"
TENURE = "tenure_days"
# Flags the scoring may add to ml.churn_scores (the first one present wins): True = reachable.
REACHABLE_FLAGS = ("is_reachable", "reachable", "is_active", "active")
LAPSED_FLAGS = ("is_lapsed", "lapsed")  # True = not reachable
# (label, first day, last day or None): tenure in days since the player was first seen.
TENURE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("first week (0-6 days)", 0, 6),
    ("first month (7-29 days)", 7, 29),
    ("30 days or more", 30, None),
)


def at_risk(scores: pd.DataFrame) -> pd.Series:
    return scores["risk_tier"].isin(AT_RISK_TIERS)


def played_within(scores: pd.DataFrame, days: int) -> pd.Series:
    """Players with a session in the last `days` days (0: today only); False when unknown."""
    if LAST_PLAYED not in scores:
        return pd.Series(False, index=scores.index)
    return scores[LAST_PLAYED].notna() & (scores[LAST_PLAYED] < days)


def reachable(scores: pd.DataFrame) -> pd.Series:
    """Players who can still be reached: the scoring's flag if it has one, else recent play."""
    for column in REACHABLE_FLAGS:
        if column in scores:
            return scores[column].fillna(False).astype(bool)
    for column in LAPSED_FLAGS:
        if column in scores:
            return ~scores[column].fillna(True).astype(bool)
    return played_within(scores, REACHABLE_DAYS)


def reachable_rule(scores: pd.DataFrame) -> str:
    """What `reachable` means for these scores, in words."""
    for column in (*REACHABLE_FLAGS, *LAPSED_FLAGS):
        if column in scores:
            return f"the scores' `{column}` flag"
    return f"played in the last {REACHABLE_DAYS} days"


def tenure_band(scores: pd.DataFrame) -> pd.Series:
    """Each player's tenure band label ("unknown" without a tenure)."""
    band = pd.Series("unknown", index=scores.index, dtype=object)
    if TENURE not in scores:
        return band
    for label, first, last in TENURE_BANDS:
        inside = scores[TENURE] >= first
        if last is not None:
            inside &= scores[TENURE] <= last
        band[inside.fillna(False)] = label
    return band


def by_risk(frame: pd.DataFrame) -> pd.DataFrame:
    """Most at risk first (the scoring's rank breaks ties of probability)."""
    keys = ["churn_probability", "risk_rank"] if "risk_rank" in frame else ["churn_probability"]
    ascending = [False, True][: len(keys)]
    return frame.sort_values(keys, ascending=ascending, kind="stable")


@dataclass(frozen=True)
class Segment:
    """A named cut of the scores; `name` is also its file name under `segments/`."""

    name: str
    title: str
    select: Callable[[pd.DataFrame], pd.Series]

    def of(self, scores: pd.DataFrame) -> pd.DataFrame:
        return by_risk(scores[self.select(scores)])


def custom_segment(
    tiers: tuple[str, ...] = (), played_days: int | None = None, tenure: str | None = None
) -> Segment:
    """The players of `tiers` (all if empty), who played in the last `played_days` days (any if
    None), in the tenure band whose label starts with `tenure` (any if None)."""

    tiers = tuple(t for t in TIERS if t in tiers)  # High, Medium, Low: the order of the tiers

    def select(scores: pd.DataFrame) -> pd.Series:
        keep = scores["risk_tier"].isin(tiers) if tiers else pd.Series(True, index=scores.index)
        if played_days is not None:
            keep &= played_within(scores, played_days)
        if tenure is not None:
            keep &= tenure_band(scores).str.startswith(tenure)
        return keep

    names = ["-".join(t.lower() for t in tiers) + "-risk" if tiers else "all-players"]
    words = [" or ".join(tiers) + " risk" if tiers else "all players"]
    if played_days is not None:
        names.append(f"played-within-{played_days}d")
        words.append(f"played in the last {played_days} days")
    if tenure is not None:
        names.append("tenure-" + tenure.replace(" ", "-").lower())
        words.append(f"tenure {tenure}")
    return Segment("-".join(names), ", ".join(words), select)


def named_segments() -> list[Segment]:
    """The segments `respawn scores` prints and exports by default."""
    high_recent = custom_segment(("High",), RECENT_DAYS)
    by_tier = [
        Segment(f"tier-{tier.lower()}", f"{tier} risk", lambda s, t=tier: s["risk_tier"] == t)
        for tier in TIERS
    ]
    by_tenure = [
        Segment(
            "tenure-" + label.split(" (")[0].replace(" ", "-"),
            f"tenure: {label}",
            lambda s, band=label: tenure_band(s) == band,
        )
        for label, _, _ in TENURE_BANDS
    ]
    at_risk_reachable = Segment(
        "at-risk-reachable", "at risk (High or Medium) and still reachable",
        lambda s: at_risk(s) & reachable(s),
    )  # fmt: skip
    return [high_recent, at_risk_reachable, *by_tier, *by_tenure]
