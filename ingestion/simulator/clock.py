"""Device clocks: what a player's browser believes the time is.

Most devices sync with NTP and are within a second or two. A share (the clock-skew rate) are off
by minutes to hours, ahead or behind; a third of those also drift, gaining or losing up to a
couple of minutes a day. The client stamps `timestamp` and `sent_at` with this clock; the server
stamps `received_at` with the true time, which is how the platform recovers true event time.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from ingestion.simulator.events import DAY_MS


@dataclass(frozen=True, slots=True)
class DeviceClock:
    offset_ms: int  # device time minus true time at `since_ms`
    drift_ms_per_day: float  # how fast the offset grows (negative: the clock loses time)
    since_ms: int

    def read(self, true_ms: int) -> int:
        """The device's reading at true time `true_ms` (epoch milliseconds)."""
        if self.drift_ms_per_day == 0.0:
            return true_ms + self.offset_ms
        return (
            true_ms
            + self.offset_ms
            + int(self.drift_ms_per_day * (true_ms - self.since_ms) / DAY_MS)
        )

    @property
    def skewed(self) -> bool:
        return abs(self.offset_ms) >= 60_000 or self.drift_ms_per_day != 0.0


def draw_clock(rng: random.Random, skew_rate: float, since_ms: int) -> DeviceClock:
    # Draw everything unconditionally so that other delivery draws do not shift with the rate.
    u, sign, magnitude, drifting, drift = (rng.random() for _ in range(5))
    jitter = rng.gauss(0.0, 700.0)
    if u >= skew_rate:
        return DeviceClock(round(jitter) if skew_rate > 0.0 else 0, 0.0, since_ms)
    # Minutes to hours, log-uniform between 2 minutes and 6 hours.
    seconds = math.exp(math.log(120.0) + magnitude * (math.log(6 * 3600.0) - math.log(120.0)))
    offset = round(seconds * 1000.0) * (1 if sign < 0.5 else -1)
    drift_per_day = 0.0
    if drifting < 1 / 3:
        drift_per_day = (1_000.0 + drift * 119_000.0) * (1 if sign < 0.25 or sign > 0.75 else -1)
    return DeviceClock(offset, drift_per_day, since_ms)
