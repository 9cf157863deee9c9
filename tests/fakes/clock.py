"""A hand-driven clock for the gateway (`create_app(..., clock=FakeClock().clock())`).

Wall time starts at a fixed instant (T0: 2031-05-17 23:59 UTC, a minute before a day ends, in
the middle of a month), never today's date; monotonic time starts at 0. Both move only on
`advance(seconds)`, so rate windows, budget periods and expiry are exact in tests.
"""

from __future__ import annotations

from datetime import datetime, timezone

from loom.entrypoints.gateway.limits import Clock

T0 = datetime(2031, 5, 17, 23, 59, 0, tzinfo=timezone.utc).timestamp()


class FakeClock:
    """Wall and monotonic time that move only when the test says so."""

    def __init__(self, wall: float = T0) -> None:
        self.start, self.t = wall, 0.0

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def clock(self) -> Clock:
        return Clock(wall=lambda: self.start + self.t, mono=lambda: self.t)
