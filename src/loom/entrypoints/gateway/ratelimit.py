"""Rolling one-minute windows per key: requests (rpm) and tokens (tpm).

Exact, not approximated: `rpm=60` means at most 60 admitted requests in ANY 60-second span (a
token bucket would let 2x through around a refill). Each key keeps the times of its admitted
requests of the last minute (at most `rpm` of them), and of its answers' token counts.
Refused requests take no slot, so a client retrying in a loop does not lock itself out longer.
Times come from an injected monotonic clock (tests drive it by hand).
"""

from __future__ import annotations

from collections import deque

WINDOW = 60.0


class RequestWindow:
    """`check(key_id, limit, now)` -> 0.0 and counts the request, or the seconds to wait."""

    def __init__(self) -> None:
        self._times: dict[str, deque[float]] = {}

    def check(self, key_id: str, limit: int, now: float) -> float:
        times = self._times.get(key_id)
        if times is None:
            times = self._times[key_id] = deque()
        horizon = now - WINDOW
        while times and times[0] <= horizon:
            times.popleft()
        if len(times) < limit:
            times.append(now)
            return 0.0
        # The oldest of the last `limit` admissions leaves the window first.
        return times[len(times) - limit] - horizon

    def used(self, key_id: str, now: float) -> int:
        times = self._times.get(key_id) or ()
        return sum(1 for t in times if t > now - WINDOW)


class TokenWindow:
    """Tokens of each key's answers in the last minute (added when an answer completes)."""

    def __init__(self) -> None:
        self._entries: dict[str, deque[tuple[float, int]]] = {}
        self._sums: dict[str, int] = {}

    def add(self, key_id: str, tokens: int, now: float) -> None:
        if tokens <= 0:
            return
        self._expire(key_id, now)
        self._entries.setdefault(key_id, deque()).append((now, tokens))
        self._sums[key_id] = self._sums.get(key_id, 0) + tokens

    def used(self, key_id: str, now: float) -> int:
        self._expire(key_id, now)
        return self._sums.get(key_id, 0)

    def wait(self, key_id: str, limit: int, now: float) -> float:
        """0.0 when the key is under `limit` tokens in the last minute, else seconds until it is."""
        used = self.used(key_id, now)
        if used < limit:
            return 0.0
        for t, tokens in self._entries[key_id]:
            used -= tokens
            if used < limit:
                return t + WINDOW - now
        return WINDOW  # unreachable: the sum is the entries' total

    def _expire(self, key_id: str, now: float) -> None:
        entries = self._entries.get(key_id)
        if not entries:
            return
        horizon = now - WINDOW
        dropped = 0
        while entries and entries[0][0] <= horizon:
            dropped += entries.popleft()[1]
        if dropped:
            self._sums[key_id] -= dropped
