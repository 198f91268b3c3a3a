"""Tables as Dagster metadata: a table's column schema, and a small table of values.

Shared by every domain; the markdown itself is `ml.report.markdown_table`'s (orchestration may
import `ml`, never the other way round).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

from ml.report import markdown_table

# Metadata tables are read in the UI's narrow panels: longer cells are cut.
CELL_CHARS = 40


def column_schema(
    columns: Mapping[str, str], descriptions: Mapping[str, str] | None = None
) -> dg.TableSchema:
    """`dagster/column_schema` of a table: its columns (name -> SQL type), described when known."""
    described = descriptions or {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, dtype.lower(), description=described.get(name))
            for name, dtype in columns.items()
        ]
    )


def table_metadata(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> dg.MetadataValue:
    """A few rows as a markdown metadata value, long cells cut to `CELL_CHARS`."""
    return dg.MetadataValue.md(markdown_table(header, rows, max_cell_chars=CELL_CHARS))
