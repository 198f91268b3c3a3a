"""Who plays: the install curve of the period and each player's hidden traits.

Every player draws from RNGs derived from (seed, player index, stream) only, so a player is the
same whichever worker simulates it and whatever else runs. Two streams per player keep the
behaviour independent of the fault settings: `behaviour` decides what the player does,
`delivery` decides how the device reports it (clock, faults).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

# Home time zones (UTC offset, hours) of a web game's audience, and their weights.
TIME_ZONES: tuple[float, ...] = (-8.0, -6.0, -5.0, -3.0, 0.0, 1.0, 2.0, 3.0, 5.5, 8.0, 9.0)
TIME_ZONE_WEIGHTS: tuple[float, ...] = (8, 5, 10, 6, 8, 14, 9, 7, 6, 10, 5)


def player_rng(seed: int, index: int, stream: str) -> random.Random:
    """A player's own RNG. String seeds are hashed with SHA-512 by `random`, so this is stable
    across processes, runs and Python builds (unlike `hash()`)."""
    return random.Random(f"respawn-sim:{seed}:{index}:{stream}")


def install_days(players: int, days: int, seed: int) -> np.ndarray:
    """The day (0-based) each player installs: a launch peak decaying to a steady trickle, with
    busier weekends. Drawn once for the whole population, indexed by player."""
    d = np.arange(days, dtype=np.float64)
    weights = 0.3 + np.exp(-d / 6.0)
    weights *= np.where(d % 7 >= 5, 1.25, 1.0)  # day 0 is a Monday-like launch day
    weights /= weights.sum()
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0x1A57A11])))
    return rng.choice(days, size=players, p=weights).astype(np.int64)


@dataclass(frozen=True, slots=True)
class Traits:
    """Hidden traits: the simulator knows them, the platform has to infer their effects."""

    skill: float  # true skill, standard normal; the matchmaker only sees results
    engagement: float  # sessions per day when new and happy
    interest_days: float  # time constant of the decay of engagement with tenure
    match_appetite: float  # extra matches per session when happy (beyond the first)
    tolerance: float  # frustration tolerance, 0 (rage-prone) to 1 (calm)
    network: float  # network quality, 0 (flaky) to 1 (fibre)
    sociability: float  # chance a session starts from a friend's invite
    crash_rate: float  # chance per match that the client crashes
    tz_hours: float  # home time zone, UTC offset in hours
    peak_hour: float  # preferred local hour to start playing


def draw_traits(rng: random.Random) -> Traits:
    return Traits(
        skill=rng.gauss(0.0, 1.0),
        engagement=min(4.0, math.exp(rng.gauss(math.log(1.1), 0.55))),
        interest_days=rng.uniform(12.0, 60.0),
        match_appetite=rng.uniform(1.5, 5.0),
        tolerance=rng.betavariate(2.2, 2.2),
        network=rng.betavariate(5.0, 1.6),
        sociability=rng.betavariate(1.3, 6.0),
        crash_rate=math.exp(rng.uniform(math.log(0.002), math.log(0.02))),
        tz_hours=rng.choices(TIME_ZONES, TIME_ZONE_WEIGHTS)[0],
        peak_hour=rng.choice((12.5, 18.0, 20.0, 21.0, 22.5)) + rng.gauss(0.0, 1.0),
    )
