"""Players end to end: lives, and how each device delivers them; the same in every mode."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ingestion.simulator.behaviour import Decoder, PlayerLife, simulate_chunk, simulate_lives
from ingestion.simulator.clock import DeviceClock, device_times, draw_clocks
from ingestion.simulator.config import SimConfig
from ingestion.simulator.delivery import Delivery, plan_delivery
from ingestion.simulator.events import client_ts_many
from ingestion.simulator.population import player_rng

# Players simulated together by the vectorized behaviour model: large enough that numpy's
# per-call cost is spread over many players (the number of calls hardly grows with them), small
# enough to keep a worker's tables to a few hundred MB (32,768: 15% less CPU, 1.5 GB)...
CHUNK = 16_384
# ...and decoded into Python objects a few thousand at a time, to bound memory.
DECODE = 2_048


def devices(
    cfg: SimConfig, decoder: Decoder, p0: int, p1: int
) -> list[tuple[DeviceClock, list[str]]]:
    """The device clock of players p0 to p1 of a decoded chunk, and its reading at each of their
    events (client timestamps), drawn and formatted for all of them at once."""
    install = decoder.chunk.install_ms[p0:p1]
    indices = np.arange(decoder.chunk.lo + p0, decoder.chunk.lo + p1)
    offsets, drifts = draw_clocks(cfg.seed, indices, cfg.faults.clock_skew, install)
    true_ms, counts = decoder.event_times(p0, p1)
    owner = np.repeat(np.arange(p1 - p0), counts)
    stamps = client_ts_many(device_times(true_ms, offsets[owner], drifts[owner], install[owner]))
    bounds = np.concatenate([[0], np.cumsum(counts)]).tolist()
    return [
        (DeviceClock(offset, drift, since), stamps[bounds[i] : bounds[i + 1]])
        for i, (offset, drift, since) in enumerate(
            zip(offsets.tolist(), drifts.tolist(), install.tolist(), strict=True)
        )
    ]


def deliver(cfg: SimConfig, life: PlayerLife, device: tuple[DeviceClock, list[str]]) -> Delivery:
    clock, stamps = device
    return plan_delivery(life, player_rng(cfg.seed, life.index, "delivery"), cfg, clock, stamps)


def iter_players(
    cfg: SimConfig, lo: int = 0, hi: int | None = None
) -> Iterator[tuple[PlayerLife, Delivery]]:
    """Players `lo` (inclusive) to `hi` (exclusive) in index order."""
    hi = cfg.players if hi is None else hi
    for start in range(lo, hi, CHUNK):
        end = min(hi, start + CHUNK)
        decoder = Decoder(simulate_chunk(cfg, start, end))
        for p0 in range(0, end - start, DECODE):
            p1 = min(end - start, p0 + DECODE)
            lives = decoder.lives(p0, p1)
            for life, device in zip(lives, devices(cfg, decoder, p0, p1), strict=True):
                yield life, deliver(cfg, life, device)


def events_per_player(cfg: SimConfig, sample: int = 2000) -> float:
    """Mean valid events per player over `cfg.days`, measured on a population of `sample`
    players with the same seed (deterministic: same flags, same answer)."""
    lives = simulate_lives(cfg, 0, sample)
    return sum(len(s.events) for life in lives for s in life.sessions) / sample
