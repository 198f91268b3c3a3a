"""What sqlfluff's jinja templater needs to render the models without dbt (lint only).

dbt's own context (`dbt.*` cross-database macros, `var`, `adapter`, `execute`) is emulated here
with the SQL that dbt-duckdb renders; the project's macros are loaded from `macros/`, and the
`adapter.dispatch` glue is replaced in `.sqlfluff` by direct calls to their `duckdb__` versions.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

_PROJECT = yaml.safe_load((Path(__file__).parents[1] / "dbt_project.yml").read_text())
_VARS: dict[str, Any] = _PROJECT.get("vars", {})

# Compile-time branches that query the warehouse take their offline path.
execute = False


def var(name: str, default: Any = None) -> Any:
    return _VARS.get(name, default)


def _datediff(first: str, second: str, datepart: str) -> str:
    return f"(date_diff('{datepart}', {first}::timestamp, {second}::timestamp))"


def _dateadd(datepart: str, interval: Any, from_date: str) -> str:
    return f"({from_date} + cast({interval} as bigint) * interval 1 {datepart})"


def _date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def _concat(fields: list[str]) -> str:
    return " || ".join(fields)


def _safe_cast(field: str, type_: str) -> str:
    return f"cast({field} as {type_})"


dbt = SimpleNamespace(
    datediff=_datediff,
    dateadd=_dateadd,
    date_trunc=_date_trunc,
    concat=_concat,
    safe_cast=_safe_cast,
    type_string=lambda: "varchar",
    type_timestamp=lambda: "timestamp",
)

adapter = SimpleNamespace(type=lambda: "duckdb")
