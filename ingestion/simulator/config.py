"""What a simulation run is asked to do: population size, period, seed and fault rates."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from ingestion.simulator.events import DAY_MS, day_ms


@dataclass(frozen=True, slots=True)
class FaultRates:
    """Data-quality faults, each a probability per the unit named. Defaults are realistic levels:
    every fault shows up in a 1000-player month, none dominates it."""

    duplicate: float = 0.01  # per event: the client sends it again in an extra frame
    malformed: float = 0.002  # per event: a buggy client also sends a corrupted copy
    clock_skew: float = 0.08  # per device: clock off by minutes to hours (a third drifting)
    offline: float = 0.03  # per session: delivered hours later in one batch
    out_of_order: float = 0.05  # per session (2+ events): delivered in the wrong order
    drop_connection: float = 0.001  # per frame: the connection drops before the ack comes
    rollout_at: float | None = 0.2  # share of the period when the new client ships; None: none

    @classmethod
    def none(cls) -> FaultRates:
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, None)

    def __post_init__(self) -> None:
        for name in (
            "duplicate",
            "malformed",
            "clock_skew",
            "offline",
            "out_of_order",
            "drop_connection",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault rate {name} must be between 0 and 1, got {value}")
        if self.rollout_at is not None and not 0.0 <= self.rollout_at <= 1.0:
            raise ValueError(f"rollout_at must be between 0 and 1, got {self.rollout_at}")


@dataclass(frozen=True, slots=True)
class SimConfig:
    players: int = 1000
    days: int = 30
    start: date = field(default_factory=lambda: date(2026, 1, 1))
    seed: int = 0
    faults: FaultRates = field(default_factory=FaultRates)
    batch_size: int = 50  # events per envelope, as the browser client (max 500 on the wire)
    profile: str = "default"  # see ingestion/simulator/profiles.py

    def __post_init__(self) -> None:
        if self.players < 1:
            raise ValueError(f"--players must be at least 1, got {self.players}")
        if self.days < 1:
            raise ValueError(f"--days must be at least 1, got {self.days}")
        if not 1 <= self.batch_size <= 500:
            raise ValueError(f"--batch-size must be between 1 and 500, got {self.batch_size}")
        from ingestion.simulator.profiles import get_profile

        get_profile(self.profile)  # an unknown name says which ones exist

    @property
    def start_ms(self) -> int:
        return day_ms(self.start)

    @property
    def end_ms(self) -> int:
        """End of the period (exclusive): nothing happens or is received at or after it."""
        return self.start_ms + self.days * DAY_MS

    @property
    def rollout_ms(self) -> int | None:
        if self.faults.rollout_at is None:
            return None
        return self.start_ms + round(self.faults.rollout_at * self.days * DAY_MS)

    def with_faults(self, faults: FaultRates) -> SimConfig:
        return replace(self, faults=faults)
