"""Pricing one answer from its usage, with Loom's price table (adapters/models/pricing.py).

Input and output tokens at the table's rates (USD per million tokens); prompt-cache writes at
1.25x the input rate (2x for the 1-hour cache, when the usage splits them out) and cache reads
at 0.1x, as Anthropic bills them. A model missing from the table has no price (None, never 0).
Server-side tools billed per use (web search) are not priced.
"""

from __future__ import annotations

from typing import Any

from loom.adapters.models.pricing import PRICES, normalize

CACHE_WRITE_5M, CACHE_WRITE_1H, CACHE_READ = 1.25, 2.0, 0.1


def tokens_of(usage: Any) -> int:
    """All tokens an answer processed: input, cache writes and reads, and output."""
    if not isinstance(usage, dict):
        return 0
    total = 0
    for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens"):
        value = usage.get(name)
        if isinstance(value, int) and value > 0:
            total += value
    return total


def price(model: Any, usage: Any) -> float | None:
    """USD of one answer, or None when the model has no known price (or there is no usage)."""
    if not isinstance(model, str) or not isinstance(usage, dict):
        return None
    rates = PRICES.get(normalize(model))
    if rates is None:
        return None
    pin, pout = rates

    def n(name: str, source: dict[str, Any] = usage) -> int:
        value = source.get(name)
        return value if isinstance(value, int) and value > 0 else 0

    writes = n("cache_creation_input_tokens")
    split = usage.get("cache_creation")
    if isinstance(split, dict) and (n("ephemeral_5m_input_tokens", split) or n("ephemeral_1h_input_tokens", split)):
        w5, w1 = n("ephemeral_5m_input_tokens", split), n("ephemeral_1h_input_tokens", split)
        write_cost = w5 * CACHE_WRITE_5M + w1 * CACHE_WRITE_1H
    else:
        write_cost = writes * CACHE_WRITE_5M
    usd = ((n("input_tokens") + write_cost + n("cache_read_input_tokens") * CACHE_READ) * pin
           + n("output_tokens") * pout) / 1_000_000
    return round(usd, 10)
