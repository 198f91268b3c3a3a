"""The pandera schema of event rows, derived from the one v1 contract (`ingestion.contract`), and
the same schema compiled to SQL, so that the warehouse checks its rows where they are.

Every `FieldSpec` in `ALL_FIELDS` becomes a column rule (required or not, enum members, bounds,
UUID format, length), and every `EventType` a row rule (a valid event carries its type's fields).
Nothing here lists a field by hand: a field added to the contract is validated without an edit.
The typed columns are named as in `orchestration.warehouse.raw_schema` (`column_name`).

`EventRow` (a pandera `DataFrameModel`) is the declared schema of `raw.events`. The merge does
not move millions of rows into pandas to run it: `contract_failures_sql` compiles the model into
one DuckDB expression, the list of rules a row breaks, named as pandera names them. Pandera's
built-in checks are translated from their statistics; each custom check is written here twice,
in pandas and in SQL, side by side. A check the compiler does not know is an error, so the model
cannot gain a rule that the warehouse would skip, and a property test holds the compiled SQL to
pandera's own answers on random rows (tests/orchestration/warehouse/test_contract_sql.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from ingestion.contract import (
    ALL_FIELDS,
    BASE_FIELDS,
    EVENT_TYPES,
    SCHEMA_VERSION,
    UUID_PATTERN,  # the contract's UUID pattern: one definition of what an id looks like
    FieldSpec,
)
from orchestration.warehouse.raw_schema import column_name

STATUSES = ("valid", "unknown")
# Clock slack between the ingestor host and the machine that validates.
FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_EXAMPLES = 10

_BASE_NAMES = frozenset(spec.name for spec in BASE_FIELDS)


# The columns the model reads: the typed contract columns plus what the row rules need.
VALIDATED_COLUMNS: tuple[str, ...] = (
    *(column_name(spec) for spec in ALL_FIELDS),
    "status",
    "received_at",
    "receive_date",
)


def _field(spec: FieldSpec) -> Any:
    rules: dict[str, Any] = {"nullable": spec.name not in _BASE_NAMES}
    if spec.kind in ("enum", "const"):
        rules["isin"] = list(spec.values)
    elif spec.kind == "integer":
        rules["ge"] = spec.minimum
        if spec.maximum is not None:
            rules["le"] = spec.maximum
    elif spec.kind in ("string", "uuid"):
        rules["str_length"] = {"max_value": spec.max_length}
    return pa.Field(**rules, description=spec.description)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_in(column: str, values: Any) -> str:
    return f"{column} in ({', '.join(_sql_text(str(v)) for v in values)})"


# -- the custom checks, each in pandas and in SQL ---------------------------------------------
# A column check's SQL is true when the value `{c}` passes (pandera skips nulls: the compiler
# does too). A row check's SQL is true when the row passes, nulls treated as pandas treats them:
# `None != "valid"` is True, `None == "v1"` is False (hence `is [not] distinct from`).


def _uuid_format(cls: type, series: pd.Series) -> pd.Series:
    return series.str.fullmatch(UUID_PATTERN.pattern)


_UUID_FORMAT_SQL = f"regexp_full_match({{c}}, {_sql_text(UUID_PATTERN.pattern)})"


def _future_limit(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(tzinfo=None) + FUTURE_TOLERANCE


def _received_not_in_future(cls: type, series: pd.Series) -> pd.Series:
    return pd.to_datetime(series) <= pd.Timestamp(_future_limit(datetime.now(UTC)))


def _not_in_future_sql(now: datetime) -> str:
    return f"{{c}} <= timestamp '{_future_limit(now).isoformat(sep=' ')}'"


def _valid_means_v1(cls: type, df: pd.DataFrame) -> pd.Series:
    return (df["status"] != "valid") | (df["event_version"] == SCHEMA_VERSION)


_VALID_MEANS_V1_SQL = (
    f"status is distinct from 'valid' or event_version is not distinct from '{SCHEMA_VERSION}'"
)


def _valid_means_known_type(cls: type, df: pd.DataFrame) -> pd.Series:
    return (df["status"] != "valid") | df["event_name"].isin(list(EVENT_TYPES))


_VALID_MEANS_KNOWN_TYPE_SQL = (
    f"status is distinct from 'valid' or coalesce({_sql_in('event_name', EVENT_TYPES)}, false)"
)


def _received_on_receive_date(cls: type, df: pd.DataFrame) -> pd.Series:
    received = pd.to_datetime(df["received_at"]).dt.normalize()
    return received == pd.to_datetime(df["receive_date"]).dt.normalize()


_RECEIVED_ON_RECEIVE_DATE_SQL = "coalesce(cast(received_at as date) = receive_date, false)"


def _type_fields_present(event_name: str, columns: list[str]) -> Any:
    def check(cls: type, df: pd.DataFrame) -> pd.Series:
        of_type = (df["status"] == "valid") & (df["event_name"] == event_name)
        return ~of_type | df[columns].notna().all(axis=1)

    return check


def _type_fields_present_sql(event_name: str, columns: list[str]) -> str:
    present = " and ".join(f"{c} is not null" for c in columns)
    return (
        f"not (status is not distinct from 'valid' and "
        f"event_name is not distinct from {_sql_text(event_name)}) or ({present})"
    )


# check name -> its SQL, for the custom checks (the SQL of `received_at_not_in_future` depends on
# the time of the validation, so every entry is a function of it).
_CUSTOM_SQL: dict[str, Callable[[datetime], str]] = {
    "uuid_format": lambda now: _UUID_FORMAT_SQL,
    "received_at_not_in_future": _not_in_future_sql,
    "valid_means_v1": lambda now: _VALID_MEANS_V1_SQL,
    "valid_means_known_type": lambda now: _VALID_MEANS_KNOWN_TYPE_SQL,
    "received_on_receive_date": lambda now: _RECEIVED_ON_RECEIVE_DATE_SQL,
}
for _name, _etype in EVENT_TYPES.items():
    _CUSTOM_SQL[f"{_name}_has_its_fields"] = lambda now, n=_name, e=_etype: (
        _type_fields_present_sql(n, [column_name(spec) for spec in e.fields])
    )


def build_event_model() -> type[pa.DataFrameModel]:
    """A `DataFrameModel` class with one field per contract field and one row rule per type."""
    annotations: dict[str, Any] = {}
    attrs: dict[str, Any] = {"__annotations__": annotations, "__module__": __name__}
    for spec in ALL_FIELDS:
        name = column_name(spec)
        annotations[name] = Series[Any]
        attrs[name] = _field(spec)
    annotations["status"] = Series[Any]
    attrs["status"] = pa.Field(isin=list(STATUSES), description="valid | unknown")
    annotations["received_at"] = Series[Any]
    attrs["received_at"] = pa.Field(description="Server receive time (naive UTC).")
    annotations["receive_date"] = Series[Any]
    attrs["receive_date"] = pa.Field(description="The partition: UTC date of received_at.")

    uuids = [column_name(s) for s in ALL_FIELDS if s.kind == "uuid"]
    attrs["uuid_format"] = pa.check(*uuids, name="uuid_format")(_uuid_format)
    attrs["received_at_not_in_future"] = pa.check("received_at", name="received_at_not_in_future")(
        _received_not_in_future
    )
    attrs["valid_means_v1"] = pa.dataframe_check(name="valid_means_v1")(_valid_means_v1)
    attrs["valid_means_known_type"] = pa.dataframe_check(name="valid_means_known_type")(
        _valid_means_known_type
    )
    attrs["received_on_receive_date"] = pa.dataframe_check(name="received_on_receive_date")(
        _received_on_receive_date
    )
    for event_name, etype in EVENT_TYPES.items():
        columns = [column_name(spec) for spec in etype.fields]
        check_name = f"{event_name}_has_its_fields"
        attrs[check_name] = pa.dataframe_check(name=check_name)(
            _type_fields_present(event_name, columns)
        )

    class Config:
        strict = False  # the frame may carry more columns (event_id for examples, _row)
        coerce = False

    attrs["Config"] = Config
    return type("EventRow", (pa.DataFrameModel,), attrs)


EventRow = build_event_model()


# -- the model as SQL -------------------------------------------------------------------------


class UntranslatedCheckError(Exception):
    """The pandera model has a check that `contract_failures_sql` cannot translate."""


def _builtin_sql(check: pa.Check) -> str:
    """SQL that is true when the value `{c}` passes one of pandera's built-in checks."""
    stats = check.statistics
    if check.name == "isin":
        return _sql_in("{c}", stats["allowed_values"])
    if check.name == "greater_than_or_equal_to":
        return f"{{c}} >= {stats['min_value']!r}"
    if check.name == "less_than_or_equal_to":
        return f"{{c}} <= {stats['max_value']!r}"
    if check.name == "str_length":
        if stats.get("exact_value") is not None:
            return f"length({{c}}) = {stats['exact_value']!r}"
        bounds = [f"length({{c}}) >= {stats['min_value']!r}"] if stats["min_value"] else []
        if stats["max_value"] is not None:
            bounds.append(f"length({{c}}) <= {stats['max_value']!r}")
        return " and ".join(bounds) or "true"
    raise UntranslatedCheckError(check.name)


def _check_sql(check: pa.Check, now: datetime) -> str:
    custom = _CUSTOM_SQL.get(check.name)
    if custom is not None:
        return custom(now)
    try:
        return _builtin_sql(check)
    except UntranslatedCheckError:
        raise UntranslatedCheckError(
            f"the pandera check {check.name!r} of EventRow has no SQL form: add it to "
            "_CUSTOM_SQL (orchestration/warehouse/validation.py) so that the warehouse runs it"
        ) from None


def contract_rules(now: datetime) -> list[tuple[str, str]]:
    """Every rule of `EventRow` as (the name pandera reports, SQL that is true when a row breaks
    it), in the order pandera reports them: row rules, then each column's."""
    schema = EventRow.to_schema()
    rules = [
        (check.name, f"not coalesce({_check_sql(check, now)}, false)") for check in schema.checks
    ]
    for name, column in schema.columns.items():
        if not column.nullable:
            rules.append((f"{name}: not_nullable", f"{name} is null"))
        for check in column.checks:
            passes = _check_sql(check, now).replace("{c}", name)
            label = f"{name}: {check.error or check.name}"
            rules.append((label, f"({name} is not null and not coalesce({passes}, false))"))
    return rules


def contract_failures_sql(now: datetime) -> str:
    """A DuckDB expression over the `VALIDATED_COLUMNS` of a row: the list of the rules it breaks
    (empty when it passes), as pandera would report them on the same row at `now`."""
    rules = contract_rules(now)
    cases = ", ".join(f"case when {broken} then {_sql_text(name)} end" for name, broken in rules)
    # Nearly every row passes: one OR of the rules decides that, and only a row that breaks one
    # builds the list of their names.
    broken = " or ".join(broken for _, broken in rules)
    return (
        f"case when {broken} then list_filter([{cases}], lambda rule: rule is not null) "
        "else []::varchar[] end"
    )


# -- reports ----------------------------------------------------------------------------------


@dataclass
class ValidationReport:
    """What the contract found in a set of event rows."""

    rows: int
    failed: int = 0  # rows that broke at least one rule
    failures_by_check: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)  # event_id, rule, value

    @property
    def passed(self) -> bool:
        return not self.failed


def example(event_id: Any, rule: str, value: Any) -> dict[str, Any]:
    """One example of a failure, as the check reports it: a row rule shows `(row)`."""
    row_rule = ": " not in rule
    return {
        "event_id": _text(event_id),
        "rule": rule,
        "value": "(row)" if row_rule else _text(value),
    }


def pandera_failures(df: pd.DataFrame) -> dict[Any, list[str]]:
    """The rules each row of `df` breaks, by index label, as pandera (its pandas backend) finds
    them, lazily (every failure, not the first). The reference the SQL is held to."""
    reasons: dict[Any, list[str]] = {}
    if df.empty:
        return reasons
    try:
        EventRow.validate(df, lazy=True)
    except pa.errors.SchemaErrors as errors:
        for case in errors.failure_cases.itertuples(index=False):
            label = case.index
            if label is None or pd.isna(label):
                raise  # about the frame itself (a missing column): not a row's failure
            row_rule = case.schema_context == "DataFrameSchema"
            # A row rule is reported once per column of the row: count it once per row.
            rule = str(case.check) if row_rule else f"{case.column}: {case.check}"
            rules = reasons.setdefault(label, [])
            if rule not in rules:
                rules.append(rule)
    return reasons


def _text(value: Any) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
