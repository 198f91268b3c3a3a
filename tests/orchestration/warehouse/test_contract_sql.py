"""The contract the warehouse runs in SQL is the pandera model: on any rows, the compiled SQL finds
the rules pandera finds, named as pandera names them, in the same order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pandera.pandas as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.contract import ALL_FIELDS, EVENT_TYPES
from orchestration.warehouse import validation
from orchestration.warehouse.raw_schema import EVENT_COLUMNS, column_name
from orchestration.warehouse.validation import (
    VALIDATED_COLUMNS,
    UntranslatedCheckError,
    contract_failures_sql,
    contract_rules,
    pandera_failures,
)

NOW = datetime.now(UTC)
DAY = date(2026, 1, 30)
UUID = "0f0e0d0c-0b0a-4908-8706-050403020100"

# Text that is nearly right, or odd: the SQL and pandas string functions must agree on it.
_texts = st.one_of(
    st.sampled_from(["", "web", "v1", "v2", UUID, UUID.upper(), UUID + "0", UUID[:-1] + "g"]),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=60, max_size=140),
    st.just("é" * 64 + "\u0301"),  # 65 code points, fewer graphemes
)


def _values(spec: Any) -> st.SearchStrategy[Any]:
    if spec.kind == "boolean":
        return st.one_of(st.none(), st.booleans())
    if spec.kind == "integer":
        top = spec.maximum if spec.maximum is not None else 10**6
        return st.one_of(
            st.none(),
            st.sampled_from([spec.minimum - 1, spec.minimum, top, top + 1]),
            st.integers(-(2**31), 2**31 - 1),
        )
    if spec.kind == "timestamp":
        return st.one_of(st.none(), st.just(datetime(2026, 1, 30, 12)))
    members = list(spec.values) if spec.kind in ("enum", "const") else []
    if spec.kind == "uuid":
        members = [UUID]
    return st.one_of(st.none(), st.sampled_from(members or ["1.4.2"]), _texts)


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    row = {column_name(spec): draw(_values(spec)) for spec in ALL_FIELDS}
    row["event_name"] = draw(st.one_of(st.sampled_from(list(EVENT_TYPES)), _values(ALL_FIELDS[0])))
    row["status"] = draw(st.sampled_from(["valid", "unknown", "rejected", None]))
    row["received_at"] = draw(
        st.sampled_from(
            [
                datetime(2026, 1, 30, 0, 0),
                datetime(2026, 1, 30, 23, 59, 59, 999999),
                datetime(2026, 1, 31, 0, 0),
                NOW.replace(tzinfo=None) + timedelta(days=1),  # in the future
                None,
            ]
        )
    )
    row["receive_date"] = draw(st.sampled_from([DAY, DAY + timedelta(days=1), None]))
    return row


def _table(con: Any, frame: list[dict[str, Any]]) -> None:
    """The rows as a table with the warehouse's types, as the merge reads them."""
    types = {c: EVENT_COLUMNS[c] for c in VALIDATED_COLUMNS}
    con.execute(f"create table t ({', '.join(f'{c} {t}' for c, t in types.items())})")
    con.executemany(
        f"insert into t values ({', '.join('?' for _ in types)})",
        [[row[c] for c in types] for row in frame],
    )
    con.execute("alter table t add column n integer")
    con.execute("update t set n = rowid")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=st.lists(rows(), min_size=1, max_size=8))
def test_the_sql_contract_finds_what_pandera_finds_on_any_rows(frame: list[dict]) -> None:
    with duckdb.connect() as con:
        _table(con, frame)
        by_pandera = pandera_failures(con.sql("select * from t order by n").df().set_index("n"))
        by_sql = dict(
            con.execute(f"select n, {contract_failures_sql(NOW)} from t order by n").fetchall()
        )
    assert {n: rules for n, rules in by_sql.items() if rules} == by_pandera


def test_a_valid_row_breaks_no_rule_and_every_rule_can_be_broken() -> None:
    """A guard on the property above: it compares more than empty lists."""
    valid = {
        "event_name": "match_played",
        "event_version": "v1",
        "event_id": UUID,
        "user_id": UUID,
        "session_id": UUID,
        "client_ts": datetime(2026, 1, 30, 11),
        "client_version": "1.4.2",
        "platform": "web",
        "is_new_user": None,
        "entry_point": None,
        "match_id": UUID,
        "match_duration_sec": 60,
        "result": "win",
        "opponent_type": "bot",
        "disconnect_reason": None,
        "time_since_session_start_sec": None,
        "status": "valid",
        "received_at": datetime(2026, 1, 30, 12),
        "receive_date": DAY,
    }
    broken = {**valid, "user_id": "x", "result": "banana", "match_duration_sec": None}
    with duckdb.connect() as con:
        _table(con, [valid, broken])
        found = dict(
            con.execute(f"select n, {contract_failures_sql(NOW)} from t order by n").fetchall()
        )
    assert found[0] == []
    assert found[1] == [
        "match_played_has_its_fields",
        "user_id: uuid_format",
        "result: isin(['win', 'loss', 'disconnect'])",
    ]
    assert len(contract_rules(NOW)) > 30  # every column's rules and every row rule


def test_a_pandera_check_without_sql_is_an_error_not_a_rule_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    extra = pa.dataframe_check(name="no_sql_twin")(lambda cls, df: df["status"].notna())
    model = type(
        "WithExtra",
        (validation.EventRow,),
        {"no_sql_twin": extra, "__module__": __name__},
    )
    monkeypatch.setattr(validation, "EventRow", model)
    with pytest.raises(UntranslatedCheckError, match="no_sql_twin"):
        contract_rules(NOW)
