"""Errors of the model port (the LLM providers), with the exit codes of domain/errors.py."""

from __future__ import annotations

from loom.domain.errors import ConfigError, ExecutionFailed


class ModelCallError(ExecutionFailed):
    """An LLM call failed for real after the bounded retries (429/5xx/timeouts, bad reply); exit 1."""

    def __init__(self, message: str, *, provider: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.provider = provider


class JudgeError(ModelCallError):
    """The judge did not return a valid tool call, even after one retry; exit 1, never a crash."""


class ToolsUnsupportedError(ConfigError):
    """The feedback (judge) route cannot do tool calls; exit 2 before any spend."""


class MalformedToolCall(ValueError):
    """Internal: a tool call whose arguments are missing, not JSON, or do not fit the schema.

    Adapters retry it once and then raise JudgeError; it never leaves the model port.
    """
