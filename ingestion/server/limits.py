"""Protocol limits, and the per-connection event rate limit (a token bucket)."""

from __future__ import annotations

import time

MAX_FRAME_BYTES = 1024 * 1024  # a larger frame closes the connection with 1009 (message too big)
MAX_BATCH_EVENTS = 500  # a larger batch is refused with `batch_too_large`
MAX_BATCH_ID_LENGTH = 128


class TokenBucket:
    """`rate` events per second on average, up to `burst` at once. A frame takes as many tokens
    as it has events, all or nothing: a refused frame is answered `rate_limited`, never dropped."""

    __slots__ = ("_stamp", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def take(self, n: int, now: float | None = None) -> float:
        """Take `n` tokens: 0.0 when admitted, else the seconds after which they would be."""
        if now is None:
            now = time.monotonic()
        tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if n <= tokens:
            self._tokens = tokens - n
            return 0.0
        self._tokens = tokens
        return (n - tokens) / self.rate
