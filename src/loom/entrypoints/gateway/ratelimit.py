"""Per-key rate limit: a token bucket of `rpm` requests refilled evenly over a minute."""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    """`check(key_id)` -> 0.0 when the call may go ahead, else seconds until it may."""

    def __init__(self, rpm: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rpm < 1:
            raise ValueError("rpm must be >= 1")
        self.rpm = rpm
        self._rate = rpm / 60.0  # tokens per second
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key_id -> (tokens, last refill)

    def check(self, key_id: str) -> float:
        now = self._clock()
        tokens, last = self._buckets.get(key_id, (float(self.rpm), now))
        tokens = min(float(self.rpm), tokens + (now - last) * self._rate)
        if tokens >= 1.0:
            self._buckets[key_id] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key_id] = (tokens, now)
        return (1.0 - tokens) / self._rate
