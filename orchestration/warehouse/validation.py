"""The pandera schema of event rows, derived from the one v1 contract (`ingestion.contract`).

Every `FieldSpec` in `ALL_FIELDS` becomes a column rule (required or not, enum members, bounds,
UUID format, length), and every `EventType` a row rule (a valid event carries its type's fields).
Nothing here lists a field by hand: a field added to the contract is validated without an edit.
The typed columns are named as in `orchestration.warehouse.raw_schema` (`column_name`).
"""

from __future__ import annotations

from collections import Counter
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


def _uuid_format(cls: type, series: pd.Series) -> pd.Series:
    return series.str.fullmatch(UUID_PATTERN.pattern)


def _valid_means_v1(cls: type, df: pd.DataFrame) -> pd.Series:
    return (df["status"] != "valid") | (df["event_version"] == SCHEMA_VERSION)


def _valid_means_known_type(cls: type, df: pd.DataFrame) -> pd.Series:
    return (df["status"] != "valid") | df["event_name"].isin(list(EVENT_TYPES))


def _type_fields_present(event_name: str, columns: list[str]) -> Any:
    def check(cls: type, df: pd.DataFrame) -> pd.Series:
        of_type = (df["status"] == "valid") & (df["event_name"] == event_name)
        return ~of_type | df[columns].notna().all(axis=1)

    return check


def _received_on_receive_date(cls: type, df: pd.DataFrame) -> pd.Series:
    received = pd.to_datetime(df["received_at"]).dt.normalize()
    return received == pd.to_datetime(df["receive_date"]).dt.normalize()


def _received_not_in_future(cls: type, series: pd.Series) -> pd.Series:
    now = datetime.now(UTC).replace(tzinfo=None) + FUTURE_TOLERANCE
    return pd.to_datetime(series) <= pd.Timestamp(now)


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


@dataclass
class ValidationReport:
    """What pandera found in a frame of event rows."""

    rows: int
    failed_rows: set[Any] = field(default_factory=set)  # index labels of failing rows
    reasons: dict[Any, list[str]] = field(default_factory=dict)  # index label -> check names
    failures_by_check: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failed_rows


def validate_events(df: pd.DataFrame) -> ValidationReport:
    """Validate every row (lazily: all failures, not the first); never raises on bad data."""
    report = ValidationReport(rows=len(df))
    if df.empty:
        return report
    try:
        EventRow.validate(df, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        seen: set[tuple[Any, str]] = set()
        for case in cases.itertuples(index=False):
            label = case.index
            row_rule = case.schema_context == "DataFrameSchema"
            # A row rule is reported once per column of the row: count it once per row.
            rule = str(case.check) if row_rule else f"{case.column}: {case.check}"
            if label is None or pd.isna(label):
                report.failures_by_check[rule] += 1  # about the frame (a missing column)
                continue
            if (label, rule) in seen:
                continue
            seen.add((label, rule))
            report.failures_by_check[rule] += 1
            report.failed_rows.add(label)
            report.reasons.setdefault(label, []).append(rule)
            if len(report.examples) < MAX_EXAMPLES:
                report.examples.append(
                    {
                        "event_id": _text(df.at[label, "event_id"]),
                        "rule": rule,
                        "value": "(row)" if row_rule else _text(case.failure_case),
                    }
                )
    return report


def _text(value: Any) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
