"""Enforcing each key's policy: expiry, models, budget, rpm, tpm, parallel calls.

`admit()` runs before a call is forwarded and either lets it through (counting it against rpm
and max_parallel) or returns a `Refusal`: 403 `permission_error` for expiry, model and budget,
429 `rate_limit_error` (with retry-after) for tpm, max_parallel and rpm. Checks run in that
order (rpm last, as it counts the request), synchronously on the event loop with no await in
between, so concurrent callers cannot slip past a limit together.

Budgets are checked against spend already charged: a call is admitted while the key's spend for
the period is under `max_usd`. Calls already in flight when the budget runs out still finish
(their cost is charged), so spend can end above `max_usd` by at most what those calls cost;
`max_parallel` bounds how many there can be.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from loom.entrypoints.gateway.keys import KeyEntry
from loom.entrypoints.gateway.policy import iso_utc
from loom.entrypoints.gateway.ratelimit import RequestWindow, TokenWindow
from loom.entrypoints.gateway.spend import Ledger


@dataclass(frozen=True)
class Clock:
    """Wall time (budget periods, expiry, log timestamps) and monotonic time (rate windows)."""

    wall: Callable[[], float] = time.time
    mono: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class Refusal:
    status: int
    limit: str  # which limit: expires | models | max_usd | rpm | tpm | max_parallel
    message: str
    retry_after: float | None = None

    def headers(self) -> dict[str, str] | None:
        if self.retry_after is None:
            return None
        return {"retry-after": str(max(1, int(-(-self.retry_after // 1))))}


class Limits:
    """Per-key runtime state (windows, in-flight counts) over a spend ledger."""

    def __init__(self, ledger: Ledger, clock: Clock, default_rpm: int | None = None) -> None:
        self.ledger = ledger
        self.clock = clock
        self.default_rpm = default_rpm
        self.requests = RequestWindow()
        self.tokens = TokenWindow()
        self.inflight: dict[str, int] = {}

    def admit(self, entry: KeyEntry, route: str, model: object = None) -> Refusal | None:
        """None (and the call is counted) or why it is refused. Call `release()` when it ends
        if `entry.policy.max_parallel` is set."""
        policy = entry.policy
        rpm = policy.rpm or self.default_rpm
        if policy.empty and rpm is None:
            return None
        now = self.clock.wall()
        if policy.expires is not None and now >= policy.expires:
            return Refusal(403, "expires", f"this API key expired at {iso_utc(policy.expires)}; "
                                           "ask the gateway's operator for a new one")
        metered = route != "models"
        if metered and not policy.allows_model(model):
            return Refusal(403, "models", f"model {str(model)[:100]!r} is not allowed for this API key "
                                          f"(allowed: {','.join(policy.models)})")
        if metered and policy.max_usd is not None:
            spent = self.ledger.spent(entry.key_id, policy.budget_period, now)
            if spent.usd >= policy.max_usd:
                return Refusal(403, "max_usd", budget_message(policy.max_usd, policy.budget_period, spent.usd,
                                                              spent.unpriced_tokens, now))
        mono = self.clock.mono()
        if metered and policy.tpm is not None:
            wait = self.tokens.wait(entry.key_id, policy.tpm, mono)
            if wait > 0:
                return Refusal(429, "tpm", f"rate limit of {policy.tpm} tokens/minute reached for this API key; "
                                           f"retry after {wait:.1f} s", wait)
        running = self.inflight.get(entry.key_id, 0)
        if policy.max_parallel is not None and running >= policy.max_parallel:
            return Refusal(429, "max_parallel", f"this API key already has {running} calls in flight "
                                                f"(max_parallel={policy.max_parallel}); retry when one ends", 1.0)
        if rpm is not None:  # last: it counts the request, so no other check may refuse it after this
            wait = self.requests.check(entry.key_id, rpm, mono)
            if wait > 0:
                return Refusal(429, "rpm", f"rate limit of {rpm} requests/minute exceeded for this API key; "
                                           f"retry after {wait:.1f} s", wait)
        if policy.max_parallel is not None:
            self.inflight[entry.key_id] = running + 1
        return None

    def release(self, key_id: str) -> None:
        left = self.inflight.get(key_id, 0) - 1
        if left > 0:
            self.inflight[key_id] = left
        else:
            self.inflight.pop(key_id, None)

    def charge(self, key_id: str, started: float, usd: float | None, tokens: int) -> None:
        """Count an answer: its spend under the call's arrival time, its tokens in the tpm window."""
        self.ledger.charge(key_id, started, usd, tokens)
        self.tokens.add(key_id, tokens, self.clock.mono())


def budget_message(max_usd: float, period: str, spent: float, unpriced: int, now: float) -> str:
    when = {"day": "today (UTC)", "month": "this month (UTC)", "total": "in total"}[period]
    text = f"budget exhausted for this API key: ${spent:.4f} of ${max_usd:g} spent {when}"
    reset = period_end(period, now)
    if reset is not None:
        text += f"; it resets at {iso_utc(reset)}"
    if unpriced:
        text += f" (plus {unpriced} tokens on models without a known price, not counted in USD)"
    return text


def period_end(period: str, now: float) -> float | None:
    """When the current UTC day/month ends (None for `total`)."""
    t = datetime.fromtimestamp(now, timezone.utc)
    if period == "day":
        start = datetime(t.year, t.month, t.day, tzinfo=timezone.utc)
        return start.timestamp() + 86400
    if period == "month":
        year, month = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
        return datetime(year, month, 1, tzinfo=timezone.utc).timestamp()
    return None
