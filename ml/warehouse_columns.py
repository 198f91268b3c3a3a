"""The columns of a warehouse table as DuckDB's information schema lists them: one query for
the dataset's feature check, the score tables' layout check and the game team's exports."""

from __future__ import annotations

import duckdb


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """`{column: data type}` of `schema.table` (or `table` in `main`), in table order; empty
    when the table does not exist."""
    schema, _, name = table.rpartition(".")
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema or "main", name],
    ).fetchall()
    return dict(rows)
