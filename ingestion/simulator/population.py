"""Who plays: the install curve of the period and each player's hidden traits.

Traits and install days are drawn in fixed blocks of `TRAIT_BLOCK` consecutive player indices,
each block from its own generator seeded by (seed, profile, block): a player is the same
whichever worker simulates it, whatever the population size and whatever else runs. What the
player then does is drawn by `draws` from the player's `behaviour` key; how the device reports
it from the player's `delivery` RNG, so behaviour does not depend on the fault settings.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass

import numpy as np

from ingestion.simulator.profiles import DEFAULT, Profile

# Home time zones (UTC offset, hours) of a web game's audience, and their weights.
TIME_ZONES: tuple[float, ...] = (-8.0, -6.0, -5.0, -3.0, 0.0, 1.0, 2.0, 3.0, 5.5, 8.0, 9.0)
TIME_ZONE_WEIGHTS: tuple[float, ...] = (8, 5, 10, 6, 8, 14, 9, 7, 6, 10, 5)
PEAK_HOURS: tuple[float, ...] = (12.5, 18.0, 20.0, 21.0, 22.5)
TRAIT_BLOCK = 512
ENGAGEMENT_MAX = 4.0


def player_rng(seed: int, index: int, stream: str) -> random.Random:
    """A player's own sequential RNG (device delivery). String seeds are hashed with SHA-512 by
    `random`, so this is stable across processes, runs and Python builds (unlike `hash()`)."""
    return random.Random(f"respawn-sim:{seed}:{index}:{stream}")


def install_weights(days: int, profile: Profile = DEFAULT) -> np.ndarray:
    """Share of the installs on each day (0-based): a launch peak decaying to a steady level
    (`default`), or a nearly steady stream over the whole period (`casual-mobile`), with busier
    weekends (day 0 is a Monday-like launch day)."""
    d = np.arange(days, dtype=np.float64)
    weights = profile.install_floor + np.exp(-d / profile.install_decay_days)
    weights *= np.where(d % 7 >= 5, 1.25, 1.0)
    return weights / weights.sum()


@dataclass(frozen=True, slots=True)
class Traits:
    """Hidden traits: the simulator knows them, the platform has to infer their effects."""

    skill: float  # true skill, standard normal; the matchmaker only sees results
    engagement: float  # sessions per day when new and happy (casual-mobile: initial habit)
    interest_days: float  # time constant of the decay of engagement with tenure
    match_appetite: float  # extra matches per session when happy (beyond the first)
    tolerance: float  # frustration tolerance, 0 (rage-prone) to 1 (calm)
    network: float  # network quality, 0 (flaky) to 1 (fibre)
    sociability: float  # chance a session starts from a friend's invite
    crash_rate: float  # chance per match that the client crashes
    tz_hours: float  # home time zone, UTC offset in hours
    peak_hour: float  # preferred local hour to start playing


TRAIT_NAMES = Traits.__slots__


def _block(seed: int, profile: Profile, block: int, days: int) -> dict[str, np.ndarray]:
    tag = zlib.crc32(profile.name.encode())
    g = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, tag, block])))
    n = TRAIT_BLOCK
    lo_i, hi_i = profile.interest_days
    lo_a, hi_a = profile.match_appetite
    zone_p = np.array(TIME_ZONE_WEIGHTS) / sum(TIME_ZONE_WEIGHTS)
    out = {
        "skill": g.normal(0.0, 1.0, n),
        "engagement": np.minimum(
            ENGAGEMENT_MAX,
            np.exp(g.normal(np.log(profile.engagement_median), profile.engagement_sigma, n)),
        ),
        "interest_days": g.uniform(lo_i, hi_i, n),
        "match_appetite": g.uniform(lo_a, hi_a, n),
        "tolerance": g.beta(2.2, 2.2, n),
        "network": g.beta(5.0, 1.6, n),
        "sociability": g.beta(1.3, 6.0, n),
        "crash_rate": np.exp(g.uniform(np.log(0.002), np.log(0.02), n)),
        "tz_hours": np.array(TIME_ZONES)[g.choice(len(TIME_ZONES), n, p=zone_p)],
        "peak_hour": np.array(PEAK_HOURS)[g.integers(0, len(PEAK_HOURS), n)]
        + g.normal(0.0, 1.0, n),
    }
    # Drawn last, so that the traits above do not depend on the length of the period.
    out["install_day"] = g.choice(days, n, p=install_weights(days, profile)).astype(np.int64)
    return out


def draw_population(
    seed: int, profile: Profile, days: int, lo: int, hi: int
) -> dict[str, np.ndarray]:
    """Traits (`TRAIT_NAMES`) and `install_day` of players `lo` (inclusive) to `hi` (exclusive)."""
    first, last = lo // TRAIT_BLOCK, max(lo, hi - 1) // TRAIT_BLOCK
    blocks = [_block(seed, profile, b, days) for b in range(first, last + 1)]
    skip = lo - first * TRAIT_BLOCK
    return {
        name: np.concatenate([b[name] for b in blocks])[skip : skip + hi - lo] for name in blocks[0]
    }


def install_days(players: int, days: int, seed: int, profile: Profile = DEFAULT) -> np.ndarray:
    """The day (0-based) each player of the population installs."""
    return draw_population(seed, profile, days, 0, players)["install_day"]
