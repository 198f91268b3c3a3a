"""The `ml.churn_scores` and `ml.churn_reasons` tables, keyed by scoring date.

History is kept: each scoring date's rows stay until that same date is scored again, and then
both tables' rows for that date are replaced in one transaction (readers never see a half-written
date, and other dates are never touched).
"""

from __future__ import annotations

import duckdb

from ml.score import ScoringResult

SCHEMA = "ml"
SCORES_TABLE = f"{SCHEMA}.churn_scores"
REASONS_TABLE = f"{SCHEMA}.churn_reasons"

SCORES_COLUMNS: dict[str, str] = {
    "scoring_date": "DATE NOT NULL",  # the feature snapshot date that was scored
    "user_id": "VARCHAR NOT NULL",
    "churn_probability": "DOUBLE NOT NULL",  # calibrated, within churn_horizon_days
    "risk_tier": "VARCHAR NOT NULL",  # High / Medium / Low (cut-offs in ml.score)
    "risk_rank": "BIGINT NOT NULL",  # 1 = most at risk on that date
    "model_version": "VARCHAR NOT NULL",  # directory name under $RESPAWN_HOME/models
    "scored_at": "TIMESTAMP NOT NULL",  # naive UTC
}
REASONS_COLUMNS: dict[str, str] = {
    "scoring_date": "DATE NOT NULL",
    "user_id": "VARCHAR NOT NULL",
    "reason_rank": "INTEGER NOT NULL",  # 1 = largest contribution toward churn
    "feature": "VARCHAR NOT NULL",
    "feature_value": "DOUBLE NOT NULL",
    "reference_value": "DOUBLE",  # the player's usual value or the population median
    "reference_kind": "VARCHAR",  # 'usual' or 'population'
    "contribution": "DOUBLE NOT NULL",  # TreeSHAP, log-odds
    "reason": "VARCHAR NOT NULL",
    "model_version": "VARCHAR NOT NULL",
}
_KEYS = {
    SCORES_TABLE: ("scoring_date", "user_id"),
    REASONS_TABLE: ("scoring_date", "user_id", "reason_rank"),
}


def _ddl(table: str, columns: dict[str, str]) -> str:
    body = ", ".join(f"{name} {kind}" for name, kind in columns.items())
    return f"CREATE TABLE IF NOT EXISTS {table} ({body}, PRIMARY KEY ({', '.join(_KEYS[table])}))"


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    con.execute(_ddl(SCORES_TABLE, SCORES_COLUMNS))
    con.execute(_ddl(REASONS_TABLE, REASONS_COLUMNS))


def write_scores(con: duckdb.DuckDBPyConnection, result: ScoringResult) -> None:
    """Replace the rows of `result.scoring_date` in both tables, atomically."""
    ensure_tables(con)
    con.register("_ml_scores", result.scores[list(SCORES_COLUMNS)])
    con.register("_ml_reasons", result.reasons[list(REASONS_COLUMNS)])
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            for table, columns, view in (
                (SCORES_TABLE, SCORES_COLUMNS, "_ml_scores"),
                (REASONS_TABLE, REASONS_COLUMNS, "_ml_reasons"),
            ):
                con.execute(f"DELETE FROM {table} WHERE scoring_date = ?", [result.scoring_date])
                names = ", ".join(columns)
                casts = ", ".join(
                    f"CAST({name} AS {kind.replace(' NOT NULL', '')})"
                    for name, kind in columns.items()
                )
                con.execute(f"INSERT INTO {table} ({names}) SELECT {casts} FROM {view}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister("_ml_scores")
        con.unregister("_ml_reasons")
