"""One player end to end: traits, life, and how the device delivers it; the same in every mode."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ingestion.simulator.behaviour import PlayerLife, simulate_player
from ingestion.simulator.config import SimConfig
from ingestion.simulator.delivery import Delivery, plan_delivery
from ingestion.simulator.population import draw_traits, install_days, player_rng


def simulate_one(cfg: SimConfig, index: int, install_day: int) -> tuple[PlayerLife, Delivery]:
    behaviour = player_rng(cfg.seed, index, "behaviour")
    traits = draw_traits(behaviour)
    life = simulate_player(index, behaviour, traits, install_day, cfg.start_ms, cfg.days)
    return life, plan_delivery(life, player_rng(cfg.seed, index, "delivery"), cfg)


def iter_players(
    cfg: SimConfig, lo: int = 0, hi: int | None = None, installs: np.ndarray | None = None
) -> Iterator[tuple[PlayerLife, Delivery]]:
    """Players `lo` (inclusive) to `hi` (exclusive) in index order."""
    if installs is None:
        installs = install_days(cfg.players, cfg.days, cfg.seed)
    for index in range(lo, cfg.players if hi is None else hi):
        yield simulate_one(cfg, index, int(installs[index]))


def events_per_player(cfg: SimConfig, sample: int = 1000) -> float:
    """Mean valid events per player over `cfg.days`, measured on a population of `sample`
    players with the same seed (deterministic: same flags, same answer)."""
    installs = install_days(sample, cfg.days, cfg.seed)
    total = 0
    for index in range(sample):
        rng = player_rng(cfg.seed, index, "behaviour")
        traits = draw_traits(rng)
        life = simulate_player(index, rng, traits, int(installs[index]), cfg.start_ms, cfg.days)
        total += sum(len(s.events) for s in life.sessions)
    return total / sample
