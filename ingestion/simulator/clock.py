"""Device clocks: what a player's browser believes the time is.

Most devices sync with NTP and are within a second or two. A share (the clock-skew rate) are off
by minutes to hours, ahead or behind; a third of those also drift, gaining or losing up to a
couple of minutes a day. The client stamps `timestamp` and `sent_at` with this clock; the server
stamps `received_at` with the true time, which is how the platform recovers true event time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingestion.simulator.draws import counter, normal, stream_keys, uniform
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


def draw_clocks(
    seed: int, indices: np.ndarray, skew_rate: float, since_ms: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(offset ms, drift ms per day) of each player's device, from the player's `clock` key.
    Every part is drawn whatever the rate, so that a rate only decides who is skewed."""
    keys = stream_keys(seed, indices, "clock")
    u, sign, magnitude, drifting, drift = (uniform(keys, counter(0, 0, k)) for k in range(5))
    jitter = np.rint(700.0 * normal(keys, 0, 0, 5)) if skew_rate > 0.0 else np.zeros(len(keys))
    # Minutes to hours, log-uniform between 2 minutes and 6 hours, ahead or behind.
    seconds = np.exp(np.log(120.0) + magnitude * (np.log(6 * 3600.0) - np.log(120.0)))
    offset = np.rint(seconds * 1000.0) * np.where(sign < 0.5, 1, -1)
    per_day = (1_000.0 + drift * 119_000.0) * np.where((sign < 0.25) | (sign > 0.75), 1, -1)
    skewed = u < skew_rate
    offsets = np.where(skewed, offset, jitter).astype(np.int64)
    drifts = np.where(skewed & (drifting < 1 / 3), per_day, 0.0)
    return offsets, drifts


def device_times(
    true_ms: np.ndarray, offset_ms: np.ndarray, drift_per_day: np.ndarray, since_ms: np.ndarray
) -> np.ndarray:
    """`DeviceClock.read` of each element (the clock's arrays given per element)."""
    drift = (drift_per_day * (true_ms - since_ms) / DAY_MS).astype(np.int64)
    return true_ms + offset_ms + np.where(drift_per_day == 0.0, 0, drift)
