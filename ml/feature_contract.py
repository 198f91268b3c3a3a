"""The churn feature naming contract shared with dbt's `marts.churn_features`.

The dbt model is the source of truth for the columns that exist; this module only knows how the
names are built, so the model can train on whatever columns the table has while the reason
catalog and the synthetic generator speak the same vocabulary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FEATURES_TABLE = "marts.churn_features"
LABELS_TABLE = "marts.churn_labels"
KEY_COLUMNS: tuple[str, ...] = ("user_id", "snapshot_date")

# The windows `marts.churn_features` builds (its `set windows = [...]`; tests/ml pins the two).
WINDOWS: tuple[int, ...] = (1, 3, 7, 14, 28)
LONGEST_WINDOW = max(WINDOWS)

# Windowed bases: `<base>_<N>d` for every N in WINDOWS.
WINDOWED_BASES: tuple[str, ...] = (
    "sessions",
    "matches",
    "wins",
    "losses",
    "win_rate",
    "loss_rate",
    "max_loss_streak",
    "rage_quits",
    "disconnects_network",
    "disconnects_quit",
    "disconnects_crash",
    "bot_share",
    "minutes_played",
)

SCALAR_FEATURES: tuple[str, ...] = (
    "days_since_last_session",
    "gap_mean_days",
    "gap_max_days",
    "current_gap_days",
    "current_gap_vs_usual",
    "sessions_trend_7d",
    "matches_trend_7d",
    "minutes_trend_7d",
    "tenure_days",
    "entry_share_lobby_28d",
    "entry_share_matchmaking_28d",
    "entry_share_invite_28d",
    "current_loss_streak",
    # at the resolution of the data (hours), from the player's sessions: recency, tenure, the
    # rhythm of the last sessions and what a new player did in their first hours
    "hours_since_last_session",
    "tenure_hours",
    "sessions_to_date",
    "last_session_gap_hours",
    "recent_session_gap_mean_hours",
    "session_gap_trend",
    "hours_since_last_session_vs_recent_gap",
    "matches_last_session",
    "matches_per_session_recent",
    "matches_per_session_to_date",
    "matches_per_session_trend",
    "sessions_first_1h",
    "sessions_first_24h",
    "sessions_first_72h",
    "matches_first_24h",
    "first_session_matches",
    "hours_to_second_session",
)

# The recency rule baseline scores players by this feature alone: the time from the player's last
# event to the snapshot's end, in fractional days (hour resolution and finer), the finest recency
# the features carry. The whole-day `days_since_last_session` would flatter the model: a rule at a
# coarser resolution than the model's own inputs is an easier bar to clear.
RECENCY_FEATURE = "current_gap_days"
# Whole days since the start day of the latest session: what "reachable" is counted in.
DAYS_SINCE_LAST_SESSION = "days_since_last_session"
# Days from the player's first seen date to the snapshot (0 on the install day).
TENURE_FEATURE = "tenure_days"
# Tenure at every resolution the features carry: what comparisons at equal tenure hold equal.
TENURE_FEATURES: tuple[str, ...] = (TENURE_FEATURE, "tenure_hours")

_WINDOWED = re.compile(r"^(?P<base>[a-z_]+?)_(?P<days>\d+)d$")


@dataclass(frozen=True)
class FeatureName:
    """A feature name split into its base and window (None for scalar features)."""

    name: str
    base: str
    window_days: int | None


def windowed_feature(base: str, days: int) -> str:
    return f"{base}_{days}d"


def contract_features() -> list[str]:
    """Every feature the contract names, windowed ones first, in contract order."""
    windowed = [windowed_feature(base, days) for base in WINDOWED_BASES for days in WINDOWS]
    return windowed + list(SCALAR_FEATURES)


def parse_feature(name: str) -> FeatureName:
    """Split `rage_quits_7d` into ("rage_quits", 7); scalar and unknown names keep window None."""
    if name in SCALAR_FEATURES:
        return FeatureName(name, name, None)
    match = _WINDOWED.match(name)
    if match and match["base"] in WINDOWED_BASES:
        return FeatureName(name, match["base"], int(match["days"]))
    return FeatureName(name, name, None)
