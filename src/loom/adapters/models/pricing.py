"""Known list prices (USD per million tokens: input, output). Unknown model -> usd None, never 0."""

from __future__ import annotations

import re

PRICES: dict[str, tuple[float, float]] = {
    "claude-opus-4-7": (5.0, 25.0),
    "claude-opus-4-6": (5.0, 25.0),
    "claude-opus-4-5": (5.0, 25.0),
    "claude-opus-4-1": (15.0, 75.0),
    "claude-opus-4": (15.0, 75.0),
    "claude-sonnet-4-6": (3.0, 15.0),
    "claude-sonnet-4-5": (3.0, 15.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-haiku-4-5": (1.0, 5.0),
    "claude-3-5-haiku": (0.8, 4.0),
    "gpt-5": (1.25, 10.0),
    "gpt-5-mini": (0.25, 2.0),
    "gpt-5-nano": (0.05, 0.4),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.4, 1.6),
    "gpt-4.1-nano": (0.1, 0.4),
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "o3": (2.0, 8.0),
    "o4-mini": (1.1, 4.4),
}

_DATE_SUFFIX = re.compile(r"-(\d{8}|latest)$")


def normalize(model: str) -> str:
    """`anthropic/claude-sonnet-4.5` / `claude-sonnet-4-5-20250929` -> `claude-sonnet-4-5`."""
    name = model.strip().lower().rsplit("/", 1)[-1]
    name = _DATE_SUFFIX.sub("", name)
    if name.startswith("claude"):
        name = name.replace(".", "-")
    return name


def usd(model: str, input_tokens: int, output_tokens: int) -> float | None:
    price = PRICES.get(normalize(model))
    if price is None:
        return None
    return round((input_tokens * price[0] + output_tokens * price[1]) / 1_000_000, 8)
