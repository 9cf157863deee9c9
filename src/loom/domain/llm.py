"""The model port's call shape: one request in, text or a tool's arguments out, plus usage."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Role(str, Enum):
    CODE = "code"  # writes solutions, plain text
    FEEDBACK = "feedback"  # the judge: always answers through a tool call

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ToolSpec:
    """A function the model must call; `parameters` is a JSON schema (object)."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ChatRequest:
    system: str | None
    user: str | None
    model: str
    temperature: float = 0.5
    tool: ToolSpec | None = None
    max_tokens: int = 8192


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    latency_s: float = 0.0
    usd: float | None = None  # None = price unknown (never recorded as 0)

    def __add__(self, other: "Usage") -> "Usage":
        usd = None if self.usd is None or other.usd is None else self.usd + other.usd
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.latency_s + other.latency_s,
            usd,
        )


@dataclass(frozen=True)
class ChatResponse:
    """Exactly one of `text` / `tool_args` is set: tool_args when the request had a tool."""

    text: str | None
    tool_args: dict[str, Any] | None
    usage: Usage = field(default_factory=Usage)
    provider: str = ""
    model: str = ""
