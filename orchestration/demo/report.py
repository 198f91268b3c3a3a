"""What the demo prints at the end: delivery (and why dead-letter holds more lines than the
refusals the clients saw), marts, model, drivers, players at risk, the asset checks that failed,
reconciliation, and where to look next. Counts carry thousands separators throughout.

The model's comparison against the simulator's ground truth is a step of this report (the truth
files exist because the demo simulated its players), computed here from the registered model, the
warehouse it was trained on and the truth files; production never reads them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from ingestion.contract import Code
from ingestion.settings import landing_root, models_root, truth_root, warehouse_path
from ml import registry
from ml.dataset import load_labeled
from ml.ground_truth import compare_with_truth, load_players, true_churn
from ml.report import (
    at_risk_markdown,
    cohort_markdown,
    comparison_markdown,
    markdown_table,
    most_at_risk,
    new_player_markdown,
)
from orchestration.exports.layout import export_files, exports_root
from orchestration.reconcile import landed_lines, reconcile

# Dead-letter lines that are not one refused event each: a frame refused whole, a torn line.
FRAME_CODES = {
    Code.INVALID_JSON,
    Code.FRAME_NOT_OBJECT,
    Code.INVALID_ENVELOPE,
    Code.BATCH_TOO_LARGE,
    Code.RATE_LIMITED,
}
TORN_CODES = {Code.TORN_WRITE}


def _heading(text: str) -> None:
    print(f"\n## {text}\n")


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    return row[0] if row else None


def count(value: Any) -> str:
    """A count as the report prints every count: 135,408 (blank when unknown)."""
    if value is None or value == "":
        return ""
    return f"{int(value):,}"


def _counts_table(rows: Sequence[tuple[str, Any]]) -> str:
    return markdown_table(["", "count"], [(label, count(value)) for label, value in rows])


def _delivery(con: duckdb.DuckDBPyConnection, home: Path) -> None:
    _heading("Delivery: simulator → ingestor → landing → warehouse")
    summary_path = truth_root(home) / "summary.json"
    counts: dict[str, Any] = (
        json.loads(summary_path.read_text())["counts"] if summary_path.exists() else {}
    )
    raw = _one(con, "select count(*) from raw.raw_events")
    events = _one(con, "select count(*) from raw.events")
    conflicts = _one(con, "select count(*) from raw.event_id_conflicts")
    refused = sum(counts.get("refused", {}).values()) if counts else None
    rows = [
        ("players simulated", counts.get("players")),
        ("event copies sent (with duplicates, retries, malformed)", counts.get("events_sent")),
        ("acknowledged by the ingestor", counts.get("acked")),
        ("refused by the ingestor (in the acks the clients received)", refused),
        ("frames re-sent after a lost ack", counts.get("retried_frames")),
        ("landed copies (published shards)", landed_lines(landing_root(home))),
        ("rows in raw_events", raw),
        ("events after dedupe (one per event_id)", events),
        ("duplicates removed", raw - events),
        ("event_id conflicts (same id, different payload)", conflicts),
    ]
    print(_counts_table(rows))
    codes = con.execute(
        "select failure_code, count(*) from raw.deadletter_events group by 1 order by 2 desc, 1"
    ).fetchall()
    print()
    print(
        markdown_table(
            ["dead-lettered by code", "lines"],
            [(code, count(n)) for code, n in codes] or [("(none)", "0")],
        )
    )
    print()
    for line in deadletter_explanation(con, refused, counts.get("frame_errors", {})):
        print(line)


def deadletter_explanation(
    con: duckdb.DuckDBPyConnection, refused: int | None, frame_errors: Mapping[str, int]
) -> list[str]:
    """Why dead-letter holds more (or other) lines than the refusals the clients counted.

    A client counts a refusal when an ack says so. The ingestor writes a refused event to
    dead-letter before that ack; when the ack is lost (a dropped connection), the client sends
    the frame again, and the same event is refused and dead-lettered again. A frame refused
    whole is one line but no event refusal, and a torn line (a shard cut by a crash) was never
    acknowledged at all. A re-sent copy repeats (batch_id, index in the frame, raw text)."""
    frame, torn = sorted(FRAME_CODES), sorted(TORN_CODES)
    lines, events, distinct, frames, torn_lines = con.execute(
        """
        select count(*),
               count(*) filter (where not failure_code in ($frame) and not failure_code in ($torn)),
               count(distinct (coalesce(batch_id, ''), event_index, raw))
                   filter (where not failure_code in ($frame) and not failure_code in ($torn)),
               count(*) filter (where failure_code in ($frame)),
               count(*) filter (where failure_code in ($torn))
        from raw.deadletter_events
        """.replace("$frame", ", ".join(f"'{c}'" for c in frame)).replace(
            "$torn", ", ".join(f"'{c}'" for c in torn)
        )
    ).fetchone()
    out = [f"Why {count(lines)} dead-lettered lines and {count(refused) or 'no'} refusals:"]
    out.append(f"- {count(distinct)} refused events, one line each (the refusals of the acks)")
    out.append(
        f"- {count(events - distinct)} lines repeat a refused event: its frame was sent again "
        "after the ack was lost, and refused again"
    )
    sent_frames = sum(frame_errors.values())
    out.append(
        f"- {count(frames)} frames refused whole (not JSON, bad envelope): a line each, counted "
        f"by the clients as frame errors ({count(sent_frames)}), not as refusals"
    )
    out.append(
        f"- {count(torn_lines)} torn lines: a shard's end cut by a crash, never acknowledged"
    )
    if refused is not None and refused != distinct:
        out.append(
            f"- {count(abs(refused - distinct))} refusals are not explained by this: the clients "
            f"counted {count(refused)}, dead-letter holds {count(distinct)} distinct refused "
            "events (see the reconciliation below)"
        )
    return out


def _marts(con: duckdb.DuckDBPyConnection) -> None:
    _heading("Marts")
    rows = [
        ("players", _one(con, "select count(*) from marts.dim_users")),
        ("sessions", _one(con, "select count(*) from marts.fct_sessions")),
        ("rage quits", _one(con, "select count(*) from marts.fct_rage_quits")),
        (
            "long inactivity gaps (closed)",
            _one(con, "select count(*) from marts.fct_inactivity_gaps where is_long_gap"),
        ),
        (
            "player-day snapshots with features",
            _one(con, "select count(*) from marts.churn_features"),
        ),
        (
            "labeled snapshots (not censored)",
            _one(con, "select count(*) from marts.churn_labels where churned is not null"),
        ),
    ]
    print(_counts_table(rows))
    print("\nA few sessions (marts.fct_sessions):\n")
    print(
        con.execute(
            """select session_id[:8] as session, strftime(started_at, '%Y-%m-%d %H:%M:%S')
                          as started_at, round(duration_seconds)::bigint as seconds,
                      matches, wins, losses, ended_by, rage_quits
               from marts.fct_sessions order by rage_quits desc, started_at limit 5"""
        )
        .df()
        .to_string(index=False)
    )


def _model(con: duckdb.DuckDBPyConnection, home: Path) -> bool:
    _heading("Churn model")
    versions = registry.manifests(models_root(home))
    if not versions:
        print("No model was trained (see the Dagster run's logs).")
        return False
    latest = versions[-1]
    print(f"model {latest['version']}: {latest['status']} ({_checks_text(latest['checks'])})")
    print("training window:")
    for line in window_lines(latest.get("training_window", {})):
        print(f"  {line}")
    print()
    model = registry.load(latest["version"], models_root(home))
    print("Held-out evaluation, model beside the baselines (same rows):\n")
    observed = pd.DataFrame(model.metrics["comparison"])
    print(comparison_markdown(observed))
    if model.metrics.get("cohorts"):
        print("\nROC-AUC by tenure cohort (the same rows):\n")
        print(cohort_markdown(model.metrics["cohorts"]))
    if model.metrics.get("new_players"):
        print()
        print(new_player_markdown(model.metrics["new_players"]))
    vs_truth = _against_ground_truth(con, model, home)
    if vs_truth is not None:
        print("\nAgainst the simulator's ground truth (true churn, not the observed label):\n")
        # laid out as the table above, metric for metric
        print(comparison_markdown(vs_truth.loc[observed.index, observed.columns]))
    _heading("Top churn drivers (mean |TreeSHAP contribution|)")
    ranking = model.metrics.get("global_ranking", [])[:10]
    print(
        markdown_table(
            ["feature", "mean |contribution|"],
            [(r["feature"], f"{r['mean_abs_contribution']:.4f}") for r in ranking],
        )
    )
    _heading("The ten players most at risk, with their reasons")
    scored = _one(
        con,
        "select count(*) from information_schema.tables "
        "where table_schema = 'ml' and table_name = 'churn_scores'",
    )
    at_risk = most_at_risk(con) if scored else pd.DataFrame()
    if at_risk.empty:
        print("No scores yet: scoring runs with a model that passed its checks.")
        return False
    print(at_risk_markdown(at_risk))
    return latest["status"] == registry.PASSED


def _checks_text(checks: Mapping[str, bool]) -> str:
    return ", ".join(f"{name} {'passed' if ok else 'failed'}" for name, ok in checks.items())


def _is_slice(value: Any) -> bool:
    return isinstance(value, Mapping) and {"start", "end"} <= set(value)


def _setting(name: str, value: Any) -> str:
    """`horizon_days: 14` as "horizon: 14 days"; a nested mapping as "key value, ..."."""
    if isinstance(value, Mapping):
        shown = ", ".join(_setting(k, v) for k, v in value.items())
    elif isinstance(value, bool) or not isinstance(value, int | float):
        shown = str(value)
    else:
        shown = count(value) if isinstance(value, int) else f"{value:,.4g}"
    days = name.endswith("_days")
    label = name.removesuffix("_days").replace("_", " ")
    return f"{label}: {shown}{' days' if days else ''}"


def window_lines(window: Mapping[str, Any]) -> list[str]:
    """The training window as lines: each slice's dates, rows and churn rate, oldest first, then
    the other settings (horizon, gaps)."""
    slices = sorted(
        ((name, part) for name, part in window.items() if _is_slice(part)),
        key=lambda item: str(item[1]["start"]),
    )
    lines = []
    for name, part in slices:
        rows = f", {count(part['rows'])} rows" if "rows" in part else ""
        rate = f", churn rate {part['churn_rate']:.1%}" if "churn_rate" in part else ""
        lines.append(f"{name}: {part['start']} to {part['end']}{rows}{rate}")
    lines += [_setting(name, value) for name, value in window.items() if not _is_slice(value)]
    return lines


def _against_ground_truth(
    con: duckdb.DuckDBPyConnection, model: registry.RegisteredModel, home: Path
) -> pd.DataFrame | None:
    """The model's held-out comparison scored against the simulator's truth, when there is one."""
    players = load_players(truth_root(home))
    if players is None:
        return None
    data = load_labeled(con)
    return compare_with_truth(model, data, true_churn(data.keys, players, data.horizon_days))


def failed_checks(
    instance: dg.DagsterInstance, run_ids: Sequence[str]
) -> tuple[int, list[dg.AssetCheckEvaluation]]:
    """How many checks the runs evaluated, and the latest evaluation of each one that failed
    (read from the instance's event log, as the UI shows them)."""
    latest: dict[dg.AssetCheckKey, dg.AssetCheckEvaluation] = {}
    for run_id in run_ids:
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            if entry.dagster_event is not None:
                evaluation = entry.dagster_event.asset_check_evaluation_data
                latest[evaluation.asset_check_key] = evaluation
    return len(latest), [e for e in latest.values() if not e.passed]


def _checks_section(run_ids: Sequence[str], failed_runs: Sequence[str]) -> None:
    _heading("Asset checks")
    evaluated, failed = failed_checks(dg.DagsterInstance.get(), run_ids)
    runs = f"{count(len(run_ids))} run{'s' if len(run_ids) != 1 else ''}"
    if not failed:
        print(f"{count(evaluated)} checks evaluated in the demo's {runs}: all passed.")
    else:
        print(f"{count(evaluated)} checks evaluated in the demo's {runs}; {count(len(failed))} "
              "failed:\n")  # fmt: skip
        rows = [
            (
                e.check_name,
                e.asset_key.to_user_string(),
                e.severity.value.lower(),
                e.description or "no description: see the run's logs in the UI",
            )
            for e in sorted(failed, key=lambda e: (e.asset_key.to_user_string(), e.check_name))
        ]
        print(markdown_table(["check", "asset", "severity", "what failed"], rows))
    for run in failed_runs:
        print(f"run failed: {run}")


def print_report(home: Path, run_ids: Sequence[str] = (), failed_runs: Sequence[str] = ()) -> bool:
    """Print the report; False when a reconciliation check or the model check failed."""
    path = warehouse_path(home)
    model_ok, checks_ok = False, False
    with duckdb.connect(str(path), read_only=True) as con:
        try:
            _delivery(con, home)
            _marts(con)
            model_ok = _model(con, home)
            _checks_section(run_ids, failed_runs)
            _heading("Reconciliation: nothing acknowledged was lost")
            checks = reconcile(con, landing_root(home), truth_root(home))
            for check in checks:
                print(check.line())
            checks_ok = all(c.ok for c in checks)
        except duckdb.CatalogException as e:
            first = str(e).splitlines()[0]
            print(
                f"\nThe report stops here: {first}. A step above failed; its Dagster run says why."
            )
    _where_next(home, path)
    return model_ok and checks_ok


def _where_next(home: Path, warehouse: Path) -> None:
    _heading("Where to look next")
    latest = export_files(exports_root(home))
    if latest.report.exists():
        print(f"the game team's export: {latest.directory}/")
        print(f"  the report, in a browser: {latest.report.resolve()}")
        print("  scores.csv, reasons.csv (and .parquet): one row per player / per reason")
        print("  segments (reads the export, never the warehouse): respawn scores")
    else:
        print("no export yet: it follows a scoring run (a model must pass its checks first)")
    print("the UI on the same data: make dev   ->  http://127.0.0.1:3000")
    print(f"the warehouse: {warehouse}")
    print("  (DuckDB: one process at a time; while `make dev` runs, read the export instead)")
