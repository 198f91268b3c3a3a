"""What the demo prints at the end: delivery, marts, model, drivers, players at risk,
reconciliation, and where to look next.

The model's comparison against the simulator's ground truth is a step of this report (the truth
files exist because the demo simulated its players), computed here from the registered model, the
warehouse it was trained on and the truth files; production never reads them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ingestion.settings import landing_root, models_root, truth_root, warehouse_path
from ml import registry
from ml.dataset import load_labeled
from ml.ground_truth import compare_with_truth, load_players, true_churn
from ml.report import at_risk_markdown, comparison_markdown, markdown_table, most_at_risk
from orchestration.reconcile import landed_lines, reconcile


def _heading(text: str) -> None:
    print(f"\n## {text}\n")


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    return row[0] if row else None


def _delivery(con: duckdb.DuckDBPyConnection, home: Path) -> None:
    _heading("Delivery: simulator → ingestor → landing → warehouse")
    summary_path = truth_root(home) / "summary.json"
    counts: dict[str, Any] = (
        json.loads(summary_path.read_text())["counts"] if summary_path.exists() else {}
    )
    raw = _one(con, "select count(*) from raw.raw_events")
    events = _one(con, "select count(*) from raw.events")
    conflicts = _one(con, "select count(*) from raw.event_id_conflicts")
    rows = [
        ("players simulated", counts.get("players", "")),
        ("event copies sent (with duplicates, retries, malformed)", counts.get("events_sent", "")),
        ("acknowledged by the ingestor", counts.get("acked", "")),
        ("refused by the ingestor", sum(counts.get("refused", {}).values())),
        ("frames re-sent after a lost ack", counts.get("retried_frames", "")),
        ("landed copies (published shards)", landed_lines(landing_root(home))),
        ("rows in raw_events", raw),
        ("events after dedupe (one per event_id)", events),
        ("duplicates removed", raw - events),
        ("event_id conflicts (same id, different payload)", conflicts),
    ]
    print(markdown_table(["", "count"], rows))
    codes = con.execute(
        "select failure_code, count(*) from raw.deadletter_events group by 1 order by 2 desc"
    ).fetchall()
    print()
    print(markdown_table(["dead-lettered by code", "count"], codes or [("(none)", 0)]))


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
    print(markdown_table(["", "count"], rows))
    print("\nA few sessions (marts.fct_sessions):\n")
    print(
        con.execute(
            """select session_id[:8] as session, started_at, duration_seconds as seconds,
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
    print(f"model {latest['version']} — checks {latest['status']}: {latest['checks']}")
    print(f"training window: {latest['training_window']}\n")
    model = registry.load(latest["version"], models_root(home))
    print("Held-out evaluation, model beside the baselines (same rows):\n")
    observed = pd.DataFrame(model.metrics["comparison"])
    print(comparison_markdown(observed))
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
    at_risk = most_at_risk(con)
    if at_risk.empty:
        print("No scores yet: scoring runs with a model that passed its checks.")
        return False
    print(at_risk_markdown(at_risk))
    return latest["status"] == registry.PASSED


def _against_ground_truth(
    con: duckdb.DuckDBPyConnection, model: registry.RegisteredModel, home: Path
) -> pd.DataFrame | None:
    """The model's held-out comparison scored against the simulator's truth, when there is one."""
    players = load_players(truth_root(home))
    if players is None:
        return None
    data = load_labeled(con)
    return compare_with_truth(model, data, true_churn(data.keys, players, data.horizon_days))


def print_report(home: Path) -> bool:
    """Print the report; False when a reconciliation check or the model check failed."""
    path = warehouse_path(home)
    model_ok, checks_ok = False, False
    with duckdb.connect(str(path), read_only=True) as con:
        try:
            _delivery(con, home)
            _marts(con)
            model_ok = _model(con, home)
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
    _heading("Where to look next")
    print(f"warehouse: {path}")
    print(f"  in Python: duckdb.connect('{path}', read_only=True).sql('show all tables')")
    print("  the UI on the same data: make dev   →  http://127.0.0.1:3000")
    return model_ok and checks_ok
