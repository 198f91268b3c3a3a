"""The oracle's probabilities are the true ones: what it predicts is what then happens, on both
profiles, at every horizon; the truth file holds them for every player and day, the same
whatever the number of workers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ingestion.simulator import oracle
from ingestion.simulator.behaviour import Chunk, simulate_chunk
from ingestion.simulator.config import FaultRates, SimConfig
from ingestion.simulator.events import DAY_MS
from ingestion.simulator.to_landing import run_to_landing
from ingestion.simulator.truth import HEADERS, ORACLE

START = date(2026, 1, 5)


def kept_starts(chunk: Chunk) -> tuple[np.ndarray, np.ndarray]:
    """(player, start) of every session that happened, sorted."""
    s = chunk.book.sessions.table()
    kept = np.ones(len(s["player"]), dtype=bool)
    kept[chunk.book.dropped()] = False
    player, start = s["player"][kept], s["start"][kept]
    order = np.lexsort((start, player))
    return player[order], start[order]


@pytest.fixture(scope="module", params=["casual-mobile", "default"])
def simulated(request: pytest.FixtureRequest) -> Chunk:
    players = 20_000 if request.param == "casual-mobile" else 3_000
    cfg = SimConfig(players=players, days=50, start=START, seed=8, profile=request.param)
    return simulate_chunk(cfg, 0, players)


@pytest.mark.parametrize("horizon", oracle.HORIZONS)
def test_the_chance_of_no_session_is_what_happens(simulated: Chunk, horizon: int) -> None:
    table = oracle.chunk_table(simulated)
    cfg = simulated.cfg
    snapshot = cfg.start_ms + (table.day + 1) * DAY_MS
    observable = snapshot + horizon * DAY_MS <= cfg.end_ms - DAY_MS
    player, start = kept_starts(simulated)
    key = player * 2**42 + start  # start - period start < 2**42 ms
    first_after = np.searchsorted(key, table.player * 2**42 + snapshot, side="right")
    safe = np.minimum(first_after, len(key) - 1)
    next_start = np.where(
        (first_after < len(key)) & (player[safe] == table.player),
        start[safe],
        np.iinfo(np.int64).max,
    )
    quiet = (next_start > snapshot + horizon * DAY_MS)[observable]
    column = 1 + oracle.HORIZONS.index(horizon)
    predicted = table.values[observable, column]
    assert observable.sum() > 50_000
    assert abs(predicted.mean() - quiet.mean()) < 0.005
    edges = np.digitize(predicted, [0.1, 0.3, 0.5, 0.7, 0.9])
    for b in np.unique(edges):
        inside = edges == b
        if inside.sum() >= 2_000:
            assert abs(predicted[inside].mean() - quiet[inside].mean()) < 0.03, b
    assert roc_auc_score(quiet, predicted) > 0.75


def test_the_chance_of_being_gone_matches_the_churns(simulated: Chunk) -> None:
    table = oracle.chunk_table(simulated)
    churns = simulated.churns
    # Gone at the end of a day: churned by then and not yet back.
    decided = np.full(len(simulated.install_ms), np.iinfo(np.int64).max)
    first = np.r_[True, churns.player[1:] != churns.player[:-1]]
    decided[churns.player[first]] = churns.decided_ms[first]
    back = np.zeros(len(decided), dtype=bool)
    back[churns.player[first & (churns.return_session >= 0)]] = True
    cfg = simulated.cfg
    end_of_day = cfg.start_ms + (table.day + 1) * DAY_MS
    plain = ~back[table.player]  # players who never came back: gone stays gone
    gone = (decided[table.player] <= end_of_day)[plain]
    predicted = table.values[plain, 0]
    assert abs(predicted.mean() - gone.mean()) < 0.02
    assert roc_auc_score(gone, predicted) > 0.85


def test_the_truth_file_is_the_same_with_one_or_two_workers(tmp_path: Path) -> None:
    cfg = SimConfig(players=300, days=12, start=START, seed=5, faults=FaultRates.none(),
                    profile="casual-mobile")  # fmt: skip
    for workers in (1, 2):
        out = tmp_path / str(workers)
        run_to_landing(cfg, out / "landing", out / "truth", workers, show_progress=False)
    one, two = ((tmp_path / w / "truth" / ORACLE).read_text() for w in ("1", "2"))
    assert one == two
    header, *rows = one.splitlines()
    assert header == ",".join(HEADERS[ORACLE]) == ",".join(oracle.ORACLE_COLUMNS)
    assert len(rows) > 1000
    assert [int(r.split(",")[0]) for r in rows] == sorted(int(r.split(",")[0]) for r in rows)
