"""What an export holds, read from the warehouse in one go: a scoring date's scores (with what
the game team needs beside them: when each player last played, their tenure, their reasons in
words), its reasons, and the tiers of every date scored so far.

Every column of `ml.churn_scores` and `ml.churn_reasons` is exported as it is, so a column the
scoring adds later (a reachable flag, a rank among active players) reaches the game team without
a change here; only the columns of the original contract (`ml.score_tables`) are relied upon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from ml.score_tables import REASONS_TABLE, SCORES_TABLE
from ml.warehouse_columns import table_columns
from orchestration.exports.segments import LAST_PLAYED, TENURE

FEATURES_TABLE = "marts.churn_features"
# Player context joined from the features of the scored snapshot, when the scores lack them.
CONTEXT_COLUMNS = (LAST_PLAYED, TENURE, "sessions_7d", "minutes_played_7d")
REASONS_TEXT = "reasons"  # the player's reasons, most important first, joined by "; "


@dataclass(frozen=True)
class ScoredDay:
    scoring_date: date
    scores: pd.DataFrame  # one row per player, most at risk first
    reasons: pd.DataFrame  # ml.churn_reasons of the date
    tiers_over_time: pd.DataFrame  # scoring_date, risk_tier, players: every date scored

    @property
    def model_versions(self) -> list[str]:
        return sorted(self.scores["model_version"].dropna().unique())


def latest_scoring_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The newest scoring date, or None when nothing was scored yet (no table, or empty)."""
    if not table_columns(con, SCORES_TABLE):
        return None
    row = con.execute(f"select max(scoring_date) from {SCORES_TABLE}").fetchone()
    return row[0] if row else None


def read_scored_day(con: duckdb.DuckDBPyConnection, day: date | None = None) -> ScoredDay | None:
    """The export's content for `day` (default: the latest scoring date); None if unscored."""
    day = day or latest_scoring_date(con)
    if day is None:
        return None
    score_columns = list(table_columns(con, SCORES_TABLE))
    features = set(table_columns(con, FEATURES_TABLE))
    context = [c for c in CONTEXT_COLUMNS if c in features and c not in score_columns]
    joined = "".join(f", f.{c}" for c in context)
    texts = "" if REASONS_TEXT in score_columns else f", t.{REASONS_TEXT}"
    join = (
        f"left join {FEATURES_TABLE} f on f.user_id = s.user_id "
        "and f.snapshot_date = s.scoring_date"
        if context
        else ""
    )
    scores = con.execute(
        f"""
        with texts as (
            select user_id, string_agg(reason, '; ' order by reason_rank) as {REASONS_TEXT}
            from {REASONS_TABLE} where scoring_date = ? group by user_id
        )
        select s.*{joined}{texts}
        from {SCORES_TABLE} s
        {join}
        left join texts t on t.user_id = s.user_id
        where s.scoring_date = ?
        order by s.churn_probability desc, s.risk_rank, s.user_id
        """,
        [day, day],
    ).df()
    reasons = con.execute(
        f"select * from {REASONS_TABLE} where scoring_date = ? order by user_id, reason_rank",
        [day],
    ).df()
    tiers = con.execute(
        f"select scoring_date, risk_tier, count(*) as players from {SCORES_TABLE} "
        "group by all order by scoring_date, risk_tier"
    ).df()
    return ScoredDay(day, scores, reasons, tiers)
