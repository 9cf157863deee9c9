"""Model port: how the brain talks to an LLM, per role (code writer, judge)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from loom.domain.llm import ChatRequest, ChatResponse


@runtime_checkable
class ModelPort(Protocol):
    """One LLM provider. `complete` returns text, or the tool's arguments when a tool is given."""

    name: str

    def complete(self, request: ChatRequest) -> ChatResponse: ...
