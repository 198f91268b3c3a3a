"""Simulated data sets shared by the simulator tests (each generated once per session)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from ingestion.settings import landing_root, truth_root
from ingestion.simulator.config import FaultRates, SimConfig
from ingestion.simulator.summary import Counts
from ingestion.simulator.to_landing import run_to_landing
from tests.ingestion.simulator.landed import Landed, read_landing

# Rates well above the defaults, so that every fault is frequent enough to measure.
TEST_FAULTS = FaultRates(
    duplicate=0.05, malformed=0.02, clock_skew=0.25, offline=0.1, out_of_order=0.1,
    drop_connection=0.02, rollout_at=0.4,
)  # fmt: skip


@dataclass
class Run:
    cfg: SimConfig
    landing_root: Path
    truth_dir: Path
    counts: Counts
    landed: Landed


def simulate(tmp: Path, cfg: SimConfig, workers: int) -> Run:
    landing, truth = landing_root(tmp), truth_root(tmp)
    counts = run_to_landing(cfg, landing, truth, workers, show_progress=False)
    return Run(cfg, landing, truth, counts, read_landing(landing))


@pytest.fixture(scope="session")
def faulty_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """500 players over 10 days with every fault frequent, landed by two workers."""
    cfg = SimConfig(players=500, days=10, start=date(2026, 3, 2), seed=11, faults=TEST_FAULTS)
    return simulate(tmp_path_factory.mktemp("faulty"), cfg, workers=2)


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """300 players over 21 days without faults: client timestamps are true times."""
    cfg = SimConfig(players=300, days=21, start=date(2026, 1, 5), seed=5, faults=FaultRates.none())
    return simulate(tmp_path_factory.mktemp("clean"), cfg, workers=1)
