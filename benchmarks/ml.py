"""Benchmark of the churn model: training + calibration, and scoring with three reasons.

    .venv/bin/python benchmarks/ml.py                      # 200,000 snapshots, 100,000 players
    .venv/bin/python benchmarks/ml.py --rows 40000 --players 20000   # smoke run
    .venv/bin/python benchmarks/ml.py --warehouse data/warehouse.duckdb  # real marts (a copy)

Goals on a 2-core machine: training + calibration <= 60 s on 200,000 labeled player-snapshots
with the full feature set; scoring with three reasons within 1.2x bare TreeSHAP (issue 18):
`score_rows` (contributions, margin and calibrated probability, reason sentences, ranks and
segments, drift) plus `write_scores` (both tables, one transaction), against
`Booster.predict(DMatrix(rows), pred_contribs=True)` on the same model and rows. Loading the rows
is the same for both and is printed apart. The two are timed alternately `--repeat` times and
the medians compared (the machine is shared: a ratio of medians taken side by side is what to
trust). Data is simulated (`tests/support/synthetic.py`) and lives in a temporary directory.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and this very file would shadow the
# `ml` package; put the repository root there instead.
if Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import duckdb
import numpy as np
import pandas as pd
import xgboost as xgb

from ml.dataset import ScoringRows, load_labeled
from ml.pipeline import train_and_evaluate
from ml.registry import ScoringChoice, register
from ml.score import ScoringRequest, load_for_scoring, model_choice, score_rows
from ml.score_tables import REASONS_TABLE, SCORES_TABLE, write_scores
from ml.train import dmatrix
from tests.support import synthetic

TRAIN_GOAL_SECONDS = 60.0
SCORE_GOAL_RATIO = 1.2
DAYS = 90
WARMUP_DAYS = 60  # an established population from the first snapshot date on
LABELED_ROWS_PER_USER = 43.0  # about, for DAYS and WARMUP_DAYS above


def _log(message: str) -> None:
    print(f"[ml-bench] {message}", file=sys.stderr, flush=True)


def _training_data(rows: int, seed: int) -> synthetic.SyntheticData:
    """Simulate enough players for about `rows` labeled snapshots, then trim whole players."""
    users = max(50, int(rows / LABELED_ROWS_PER_USER * 1.15))
    data = synthetic.generate(users, DAYS, seed=seed, warmup_days=WARMUP_DAYS)
    labeled = data.labels[~data.labels["is_censored"]]
    per_user = labeled.groupby("user_id", sort=False).size()
    keep = per_user.index[: int(np.searchsorted(per_user.cumsum().to_numpy(), rows)) + 1]
    pick = data.features["user_id"].isin(keep)
    return synthetic.SyntheticData(
        features=data.features[pick].reset_index(drop=True),
        labels=data.labels[data.labels["user_id"].isin(keep)].reset_index(drop=True),
        truth=data.truth[data.truth["user_id"].isin(keep)].reset_index(drop=True),
    )


def _scoring_data(players: int, seed: int) -> synthetic.SyntheticData:
    """One snapshot with `players` eligible players (features only for that day)."""
    data = synthetic.generate(
        int(players * 1.6), 1, seed=seed + 1, warmup_days=45, snapshot_days=[0]
    )
    keep = data.features["user_id"].iloc[:players]
    pick = data.features["user_id"].isin(keep)
    return synthetic.SyntheticData(
        features=data.features[pick].reset_index(drop=True),
        labels=data.labels[data.labels["user_id"].isin(keep)].reset_index(drop=True),
        truth=data.truth.iloc[:0],
    )


def _latest_rows(
    con: duckdb.DuckDBPyConnection, choice: ScoringChoice, players: int
) -> ScoringRows:
    """The latest snapshot's rows, and the dates before it until there are `players` rows (a
    real warehouse's latest snapshot is smaller than a benchmark wants)."""
    parts: list[ScoringRows] = []
    dates = con.execute(
        "SELECT snapshot_date FROM marts.churn_features GROUP BY 1 ORDER BY 1 DESC"
    ).fetchall()
    for (day,) in dates:
        parts.append(load_for_scoring(con, choice, ScoringRequest(snapshot_date=day)))
        if sum(len(p) for p in parts) >= players:
            break
    keys = pd.concat([p.keys for p in parts], ignore_index=True).iloc[:players]
    features = pd.concat([p.features for p in parts], ignore_index=True).iloc[:players]
    return ScoringRows(keys=keys, features=features)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="labeled player-snapshots")
    parser.add_argument("--players", type=int, default=100_000, help="players scored")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="scoring rounds (median)")
    parser.add_argument(
        "--warehouse",
        type=Path,
        help="train and score on a copy of this warehouse's marts instead of synthetic data",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="respawn-ml-bench-") as tmp:
        home = Path(tmp)
        if args.warehouse is not None:
            _log(f"training on the labeled snapshots of {args.warehouse} (a copy)")
            shutil.copy(args.warehouse, home / "train.duckdb")
            shutil.copy(args.warehouse, home / "score.duckdb")
        else:
            _log(f"simulating ~{args.rows:,} labeled player-snapshots")
            train_data = _training_data(args.rows, args.seed)
            con = duckdb.connect(str(home / "train.duckdb"))
            synthetic.write_tables(con, train_data)
            con.close()
            _log(f"simulating one snapshot of {args.players:,} players")
            con = duckdb.connect(str(home / "score.duckdb"))
            synthetic.write_tables(con, _scoring_data(args.players, args.seed))
            con.close()
        con = duckdb.connect(str(home / "train.duckdb"))

        started = time.perf_counter()
        labeled = load_labeled(con)
        load_seconds = time.perf_counter() - started
        con.close()
        _log(f"training on {len(labeled):,} labeled rows x {len(labeled.feature_names)} features")
        started = time.perf_counter()
        result = train_and_evaluate(labeled)
        pipeline_seconds = time.perf_counter() - started
        t = result.timings
        train_cal = t["train_seconds"] + t["calibrate_seconds"]

        # Bare tool: xgboost.train, same params, same rows, same number of rounds, no early
        # stopping watch, no calibration, no evaluation.
        masks = result.split.masks(labeled.keys["snapshot_date"])
        train = labeled.subset(masks["train"])
        params = result.artifacts.params
        rounds = int(result.artifacts.metrics["rounds_run"])
        started = time.perf_counter()
        bare_matrix = dmatrix(
            train.features,
            labeled.feature_names,
            train.labels,
            result.artifacts.metrics["positive_weight"],
        )
        xgb.train(params, bare_matrix, num_boost_round=rounds)
        bare_train = time.perf_counter() - started

        model = register(result.artifacts, home / "models")
        con = duckdb.connect(str(home / "score.duckdb"))
        choice = model_choice(model)
        started = time.perf_counter()
        rows = _latest_rows(con, choice, args.players)
        load_rows_seconds = time.perf_counter() - started
        features = rows.features[model.feature_names]
        ours, bare, parts, cpu_ours, cpu_bare = [], [], [], [], []
        for attempt in range(args.repeat):
            _log(f"scoring {len(rows):,} players, round {attempt + 1} of {args.repeat}")
            # The nightly case: a date not scored yet (untimed: the tables start empty).
            con.execute(f"DROP TABLE IF EXISTS {SCORES_TABLE}")
            con.execute(f"DROP TABLE IF EXISTS {REASONS_TABLE}")
            started, cpu = time.perf_counter(), time.process_time()
            model.booster.predict(dmatrix(features, model.feature_names), pred_contribs=True)
            bare.append(time.perf_counter() - started)
            cpu_bare.append(time.process_time() - cpu)
            started, cpu = time.perf_counter(), time.process_time()
            scored = score_rows(choice, rows)
            scored_seconds = time.perf_counter() - started
            written = write_scores(con, scored)
            ours.append(time.perf_counter() - started)
            cpu_ours.append(time.process_time() - cpu)
            parts.append({**scored.timings, "write_seconds": ours[-1] - scored_seconds})
        # Scoring the same date again: every row replaced in place.
        started = time.perf_counter()
        write_scores(con, scored)
        rewrite_seconds = time.perf_counter() - started
        con.close()
        started = time.perf_counter()
        model.booster.predict(dmatrix(features, model.feature_names))
        bare_predict = time.perf_counter() - started

    comparison = result.comparison
    score_seconds, bare_contribs = statistics.median(ours), statistics.median(bare)
    median_parts = {k: statistics.median(p[k] for p in parts) for k in parts[0]}
    ratio = score_seconds / bare_contribs
    verdict = "met" if ratio <= SCORE_GOAL_RATIO else "MISSED"
    lines = [
        f"training rows: {len(labeled):,} labeled (train slice {int(masks['train'].sum()):,}, "
        f"calibration {int(masks['calibration'].sum()):,}, evaluation "
        f"{int(masks['evaluation'].sum()):,}), {len(labeled.feature_names)} features, "
        f"{rounds} rounds run, best {result.artifacts.metrics['best_iteration'] + 1}",
        f"load from DuckDB: {load_seconds:.2f} s",
        f"training + calibration: {train_cal:.2f} s (goal <= {TRAIN_GOAL_SECONDS:.0f} s) | "
        f"bare xgboost.train: {bare_train:.2f} s | ratio {train_cal / bare_train:.2f}",
        f"full training run (+ baselines, evaluation, SHAP ranking): {pipeline_seconds:.2f} s "
        f"({', '.join(f'{k} {v:.2f}' for k, v in t.items())})",
        f"scoring with 3 reasons + write, {len(scored.scores):,} players, "
        f"{written.reasons:,} reasons: {score_seconds:.2f} s (median of {args.repeat}; "
        f"{', '.join(f'{k} {v:.2f}' for k, v in median_parts.items())}); loading the rows "
        f"{load_rows_seconds:.2f} s; writing the same date again {rewrite_seconds:.2f} s",
        f"bare predict(pred_contribs): {bare_contribs:.2f} s (median of {args.repeat}) | "
        f"ratio {ratio:.2f} (goal <= {SCORE_GOAL_RATIO}: {verdict})"
        f"; bare Booster.predict: {bare_predict:.2f} s",
        f"CPU time (all threads; less sensitive to a shared machine, not the goal's figure): "
        f"ours {statistics.median(cpu_ours):.2f} s, bare {statistics.median(cpu_bare):.2f} s, "
        f"ratio {statistics.median(cpu_ours) / statistics.median(cpu_bare):.2f}",
        "evaluation ROC-AUC model / recency / logistic: "
        + " / ".join(
            f"{comparison.loc['roc_auc', c]:.4f}"
            for c in ("model", "recency_rule", "logistic_regression")
        ),
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
