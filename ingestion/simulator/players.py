"""Players end to end: lives, and how each device delivers them; the same in every mode."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ingestion.simulator.behaviour import Decoder, PlayerLife, simulate_chunk, simulate_lives
from ingestion.simulator.config import SimConfig
from ingestion.simulator.delivery import Delivery, plan_delivery
from ingestion.simulator.population import player_rng

# Players simulated together by the vectorized behaviour model: large enough that numpy's
# per-call cost is spread over many players (the number of calls hardly grows with them)...
CHUNK = 32_768
# ...and decoded into Python objects a few thousand at a time, to bound memory.
DECODE = 2_048


def deliver(cfg: SimConfig, life: PlayerLife) -> Delivery:
    return plan_delivery(life, player_rng(cfg.seed, life.index, "delivery"), cfg)


def iter_players(
    cfg: SimConfig, lo: int = 0, hi: int | None = None, installs: np.ndarray | None = None
) -> Iterator[tuple[PlayerLife, Delivery]]:
    """Players `lo` (inclusive) to `hi` (exclusive) in index order. (`installs` is accepted for
    old callers and ignored: install days are drawn with the traits, see `population`.)"""
    hi = cfg.players if hi is None else hi
    for start in range(lo, hi, CHUNK):
        end = min(hi, start + CHUNK)
        decoder = Decoder(simulate_chunk(cfg, start, end))
        for p0 in range(0, end - start, DECODE):
            for life in decoder.lives(p0, min(end - start, p0 + DECODE)):
                yield life, deliver(cfg, life)


def events_per_player(cfg: SimConfig, sample: int = 2000) -> float:
    """Mean valid events per player over `cfg.days`, measured on a population of `sample`
    players with the same seed (deterministic: same flags, same answer)."""
    lives = simulate_lives(cfg, 0, sample)
    return sum(len(s.events) for life in lives for s in life.sessions) / sample
