"""Reading churn features and labels out of the warehouse into pandas/numpy.

Feature columns are discovered from `marts.churn_features` (every column except the keys), sorted
by name so the model's column order never depends on how the SQL happens to list them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from ml.feature_contract import FEATURES_TABLE, KEY_COLUMNS, LABELS_TABLE, TENURE_FEATURE
from ml.warehouse_columns import table_columns

_NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
    "BOOLEAN",
)


@dataclass(frozen=True)
class LabeledSet:
    """Labeled (never censored) snapshots, ordered by snapshot_date then user_id."""

    keys: pd.DataFrame  # user_id, snapshot_date (datetime64)
    features: pd.DataFrame  # feature_names columns, float64
    labels: np.ndarray  # 1 = churned, 0 = stayed (int8)
    feature_names: list[str]
    horizon_days: int

    def __len__(self) -> int:
        return len(self.keys)

    def subset(self, mask: np.ndarray) -> LabeledSet:
        return LabeledSet(
            keys=self.keys[mask].reset_index(drop=True),
            features=self.features[mask].reset_index(drop=True),
            labels=self.labels[mask],
            feature_names=self.feature_names,
            horizon_days=self.horizon_days,
        )


@dataclass(frozen=True)
class Snapshot:
    """Every eligible player's features at one snapshot date (censored or not)."""

    snapshot_date: date
    user_ids: np.ndarray
    features: pd.DataFrame  # float64, columns in the order asked for


def feature_columns(con: duckdb.DuckDBPyConnection, table: str = FEATURES_TABLE) -> list[str]:
    """Every numeric column of the features table except the keys, sorted by name."""
    rows = list(table_columns(con, table).items())
    if not rows:
        raise LookupError(
            f"table {table} not found in the warehouse; build the dbt marts first "
            "(`cd dbt_project && dbt build` or materialize the dbt assets in Dagster)"
        )
    present = {column for column, _ in rows}
    missing_keys = [key for key in KEY_COLUMNS if key not in present]
    if missing_keys:
        raise ValueError(f"{table} lacks key column(s) {missing_keys}; see the naming contract")
    not_numeric = [
        f"{column} ({kind})"
        for column, kind in rows
        if column not in KEY_COLUMNS
        and not kind.upper().startswith(_NUMERIC_TYPES)
        and not kind.upper().startswith("DECIMAL")
    ]
    if not_numeric:
        raise TypeError(
            f"{table} has non-numeric feature column(s) {not_numeric}; the naming contract "
            "requires DOUBLE or INTEGER (booleans as 0/1)"
        )
    return sorted(column for column, _ in rows if column not in KEY_COLUMNS)


def select_features_sql(names: list[str], alias: str) -> str:
    return ", ".join(f'CAST({alias}."{name}" AS DOUBLE) AS "{name}"' for name in names)


def check_no_nulls(frame: pd.DataFrame, table: str) -> None:
    nulls = frame.columns[frame.isna().any()].tolist()
    if nulls:
        raise ValueError(
            f"{table} has null values in {nulls[:10]}; the naming contract says features are "
            "never null (0 or a documented default), so fix the dbt model and rebuild it"
        )


def split_frame(
    frame: pd.DataFrame, names: list[str], keys: list[str], table: str
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray | None]:
    """A query's frame as (keys with `snapshot_date` as datetime64, the features as float64
    (refused when one is null), the `__churned` labels when the query has them)."""
    features = frame[names].astype(np.float64)
    check_no_nulls(features, table)
    key_frame = frame[keys].copy()
    key_frame["snapshot_date"] = pd.to_datetime(key_frame["snapshot_date"])
    labels = frame["__churned"].to_numpy(dtype=np.int8) if "__churned" in frame else None
    return key_frame, features, labels


def horizon_days(con: duckdb.DuckDBPyConnection, labels_table: str = LABELS_TABLE) -> int:
    """The churn horizon the labels were built with, read from label_horizon_end."""
    rows = con.execute(
        f"SELECT DISTINCT date_diff('day', snapshot_date, label_horizon_end) FROM {labels_table}"
    ).fetchall()
    values = sorted(int(row[0]) for row in rows if row[0] is not None)
    if len(values) != 1:
        raise ValueError(
            f"{labels_table} should use one churn horizon, found {values or 'none'}; "
            "rebuild the labels with a single churn_horizon_days"
        )
    return values[0]


def load_labeled(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: date | None = None,
    features_table: str = FEATURES_TABLE,
    labels_table: str = LABELS_TABLE,
) -> LabeledSet:
    """Feature rows whose label is known: never censored, never a null `churned`.

    With `as_of`, only labels already knowable at the end of that day are used
    (`label_horizon_end <= as_of`), so training as of a date ignores everything after it.
    """
    names = feature_columns(con, features_table)
    horizon = horizon_days(con, labels_table)
    where = "NOT l.is_censored AND l.churned IS NOT NULL"
    params: list[object] = []
    if as_of is not None:
        where += " AND l.label_horizon_end <= ? AND f.snapshot_date <= ?"
        params += [as_of, as_of]
    frame = con.execute(
        f"SELECT f.user_id, f.snapshot_date, {select_features_sql(names, 'f')}, "
        f"CAST(l.churned AS TINYINT) AS __churned "
        f"FROM {features_table} f JOIN {labels_table} l USING (user_id, snapshot_date) "
        f"WHERE {where} ORDER BY f.snapshot_date, f.user_id",
        params,
    ).df()
    if frame.empty:
        raise ValueError(
            f"no labeled rows in {labels_table}"
            + (f" known by {as_of}" if as_of else "")
            + f"; every snapshot is censored until it is {horizon} days old, "
            "so simulate or ingest more days of events"
        )
    keys, features, labels = split_frame(frame, names, list(KEY_COLUMNS), features_table)
    assert labels is not None
    return LabeledSet(keys, features, labels, names, horizon)


def latest_snapshot_date(
    con: duckdb.DuckDBPyConnection, features_table: str = FEATURES_TABLE
) -> date:
    row = con.execute(f"SELECT max(snapshot_date) FROM {features_table}").fetchone()
    if row is None or row[0] is None:
        raise ValueError(f"{features_table} is empty; build the dbt marts on loaded events first")
    return row[0]


@dataclass(frozen=True)
class ScoringRows:
    """Feature rows to score: one snapshot date, or a tenure cohort over one or every date."""

    keys: pd.DataFrame  # user_id (str), snapshot_date (datetime64), by date then user
    features: pd.DataFrame  # float64, the columns asked for

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def snapshot_dates(self) -> list[date]:
        return sorted({d.date() for d in pd.to_datetime(self.keys["snapshot_date"].unique())})


def load_rows(
    con: duckdb.DuckDBPyConnection,
    feature_names: list[str],
    *,
    snapshot_date: date | None = None,
    tenure_days: int | None = None,
    features_table: str = FEATURES_TABLE,
) -> ScoringRows:
    """The rows of `snapshot_date` (default: the latest, unless a cohort is asked for), or of the
    tenure cohort `tenure_days` (every player on day N after install) on that date or, without a
    date, on every date; the given columns, in that order."""
    available = set(feature_columns(con, features_table))
    missing = [name for name in feature_names if name not in available]
    if missing:
        raise ValueError(
            f"{features_table} lacks feature(s) {missing[:10]} the model was trained on; "
            "retrain the model on the current features"
        )
    where, params = [], []
    if snapshot_date is not None or tenure_days is None:
        where.append("f.snapshot_date = ?")
        params.append(snapshot_date or latest_snapshot_date(con, features_table))
    if tenure_days is not None:
        where.append(f'f."{TENURE_FEATURE}" = ?')
        params.append(int(tenure_days))
    frame = con.execute(
        f"SELECT f.user_id, f.snapshot_date, {select_features_sql(feature_names, 'f')} "
        f"FROM {features_table} f WHERE {' AND '.join(where)} "
        "ORDER BY f.snapshot_date, f.user_id",
        params,
    ).df()
    keys, features, _ = split_frame(frame, feature_names, list(KEY_COLUMNS), features_table)
    return ScoringRows(keys=keys, features=features)


def snapshot_dates(con: duckdb.DuckDBPyConnection, features_table: str = FEATURES_TABLE) -> set:
    """Every snapshot date the features table holds."""
    return {row[0] for row in con.execute(f"SELECT DISTINCT snapshot_date FROM {features_table}")}


def load_snapshot(
    con: duckdb.DuckDBPyConnection,
    feature_names: list[str],
    snapshot_date: date | None = None,
    features_table: str = FEATURES_TABLE,
) -> Snapshot:
    """All players eligible at `snapshot_date` (default: the latest), with the given columns."""
    day = snapshot_date or latest_snapshot_date(con, features_table)
    rows = load_rows(con, feature_names, snapshot_date=day, features_table=features_table)
    return Snapshot(
        snapshot_date=day,
        user_ids=rows.keys["user_id"].to_numpy(dtype=object),
        features=rows.features,
    )
