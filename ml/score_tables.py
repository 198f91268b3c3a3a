"""The `ml.churn_scores` and `ml.churn_reasons` tables, keyed by scope and scoring date.

`scope` is `snapshot` for a whole snapshot date, `tenure_day_<N>` for a tenure cohort. History is
kept: each (scope, scoring date)'s rows stay until it is scored again, and then both tables' rows
for it are replaced in one transaction (readers never see a half-written date, and other dates are
never touched). A cohort scored over every date replaces that whole cohort. Scoring dates the
warehouse no longer has (`marts.churn_features` rebuilt, history cut) are removed in the same
transaction: a score whose features are gone describes nothing that can be checked.

Writes go through Arrow (one columnar table per write), which DuckDB inserts without converting
row by row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb
import pandas as pd
import pyarrow as pa

from ml.feature_contract import FEATURES_TABLE
from ml.score import ScoringResult
from ml.warehouse_columns import table_columns

SCHEMA = "ml"
SCORES_TABLE = f"{SCHEMA}.churn_scores"
REASONS_TABLE = f"{SCHEMA}.churn_reasons"

SCORES_COLUMNS: dict[str, str] = {
    "scope": "VARCHAR NOT NULL",  # 'snapshot', or 'tenure_day_<N>' for a tenure cohort
    "scoring_date": "DATE NOT NULL",  # the feature snapshot date that was scored
    "user_id": "VARCHAR NOT NULL",
    "churn_probability": "DOUBLE NOT NULL",  # calibrated, within churn_horizon_days, 0.01-0.99
    "risk_tier": "VARCHAR NOT NULL",  # High / Medium / Low (cut-offs in ml.score)
    "risk_rank": "BIGINT NOT NULL",  # 1 = most at risk of the players scored with it
    "segment": "VARCHAR NOT NULL",  # 'reachable' (played in the last 3 days) or 'lapsed'
    "segment_rank": "BIGINT NOT NULL",  # 1 = most at risk of the segment
    "days_since_last_session": "INTEGER NOT NULL",
    "model_score": "DOUBLE NOT NULL",  # uncalibrated log-odds: what ties are broken by
    "scored_with": "VARCHAR NOT NULL",  # 'model', or the baseline used when none passed
    "model_version": "VARCHAR NOT NULL",  # directory name under $RESPAWN_HOME/models
    "scored_at": "TIMESTAMP NOT NULL",  # naive UTC
}
REASONS_COLUMNS: dict[str, str] = {
    "scope": "VARCHAR NOT NULL",
    "scoring_date": "DATE NOT NULL",
    "user_id": "VARCHAR NOT NULL",
    "reason_rank": "INTEGER NOT NULL",  # 1 = largest contribution toward churn
    "feature": "VARCHAR NOT NULL",
    "feature_value": "DOUBLE NOT NULL",  # the player's value the sentence states
    "reference_value": "DOUBLE",  # what the sentence compares it with
    "reference_kind": "VARCHAR",  # 'usual', 'peers' (same tenure) or 'population'
    "contribution": "DOUBLE NOT NULL",  # log-odds (TreeSHAP for the model)
    "reason": "VARCHAR NOT NULL",
    "scored_with": "VARCHAR NOT NULL",
    "model_version": "VARCHAR NOT NULL",
}
_KEYS = {
    SCORES_TABLE: ("scope", "scoring_date", "user_id"),
    REASONS_TABLE: ("scope", "scoring_date", "user_id", "reason_rank"),
}
_COLUMNS = {SCORES_TABLE: SCORES_COLUMNS, REASONS_TABLE: REASONS_COLUMNS}


@dataclass(frozen=True)
class WriteSummary:
    scores: int
    reasons: int
    stale_dates_removed: list[date] = field(default_factory=list)
    kept_apart: list[str] = field(default_factory=list)  # tables of an older layout, renamed


def _ddl(table: str) -> str:
    body = ", ".join(f"{name} {kind}" for name, kind in _COLUMNS[table].items())
    return f"CREATE TABLE IF NOT EXISTS {table} ({body}, PRIMARY KEY ({', '.join(_KEYS[table])}))"


def ensure_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create both tables if missing. A table of an earlier layout is kept, renamed
    `<table>_before_<UTC time>` (nothing is dropped), and a new one created; the names of the
    kept tables are returned, so the caller can say so."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    kept = []
    for table, columns in _COLUMNS.items():
        present = list(table_columns(con, table))
        if present and present != list(columns):
            renamed = f"{table.split('.')[1]}_before_{datetime.now(UTC):%Y%m%dT%H%M%S}"
            con.execute(f"ALTER TABLE {table} RENAME TO {renamed}")
            kept.append(f"{SCHEMA}.{renamed}")
        con.execute(_ddl(table))
    return kept


def _arrow(frame: pd.DataFrame, columns: dict[str, str]) -> pa.Table:
    return pa.Table.from_pandas(frame[list(columns)], preserve_index=False)


def _insert(con: duckdb.DuckDBPyConnection, table: str, view: str, *, replace: bool) -> None:
    # By name, into the table's types (DuckDB casts on insert: dictionary text to VARCHAR,
    # timestamps to DATE); a column missing or of the wrong kind fails the whole write.
    names = ", ".join(_COLUMNS[table])
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    con.execute(f"{verb} INTO {table} ({names}) SELECT {names} FROM {view}")


def remove_stale_dates(
    con: duckdb.DuckDBPyConnection, features_table: str = FEATURES_TABLE
) -> list[date]:
    """Delete the scores and reasons of scoring dates `features_table` no longer has (inside the
    caller's transaction); the dates removed."""
    stale = [
        row[0]
        for row in con.execute(
            f"SELECT DISTINCT scoring_date FROM {SCORES_TABLE} WHERE scoring_date NOT IN "
            f"(SELECT DISTINCT snapshot_date FROM {features_table}) ORDER BY 1"
        ).fetchall()
    ]
    if stale:
        for table in _COLUMNS:
            con.execute(
                f"DELETE FROM {table} WHERE scoring_date NOT IN "
                f"(SELECT DISTINCT snapshot_date FROM {features_table})"
            )
    return stale


def _key_match(table: str, view: str) -> str:
    return " AND ".join(f"v.{k} = {table}.{k}" for k in _KEYS[table])


def write_scores(
    con: duckdb.DuckDBPyConnection,
    result: ScoringResult,
    features_table: str = FEATURES_TABLE,
) -> WriteSummary:
    """Replace the rows of the result's scope and dates in both tables, and remove the dates the
    warehouse no longer has, atomically."""
    kept = ensure_tables(con)
    views = {SCORES_TABLE: "_ml_scores", REASONS_TABLE: "_ml_reasons"}
    con.register(views[SCORES_TABLE], _arrow(result.scores, SCORES_COLUMNS))
    con.register(views[REASONS_TABLE], _arrow(result.reasons, REASONS_COLUMNS))
    same = "scope = ?" + (
        "" if result.request.whole_scope else f" AND scoring_date IN ({_dates(result)})"
    )
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            for table, view in views.items():
                existing = con.execute(
                    f"SELECT count(*) FROM {table} WHERE {same}", [result.scope]
                ).fetchone()
                if existing and existing[0]:
                    # Rows the new ones do not replace go; the rest are overwritten in place (a
                    # delete and an insert of the same key in one transaction costs DuckDB's
                    # index far more than replacing it).
                    con.execute(
                        f"DELETE FROM {table} WHERE {same} AND NOT EXISTS "
                        f"(SELECT 1 FROM {view} v WHERE {_key_match(table, view)})",
                        [result.scope],
                    )
                _insert(con, table, view, replace=bool(existing and existing[0]))
            stale = remove_stale_dates(con, features_table)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        for view in views.values():
            con.unregister(view)
    return WriteSummary(
        scores=len(result.scores),
        reasons=len(result.reasons),
        stale_dates_removed=stale,
        kept_apart=kept,
    )


def _dates(result: ScoringResult) -> str:
    return ", ".join(f"DATE '{day.isoformat()}'" for day in result.scoring_dates)
