"""Metered model ports: tokens and $ per role, and the --max-usd stop before a call."""

from __future__ import annotations

import threading
from collections.abc import Callable

from loom.application.ports.models import ModelPort
from loom.application.ports.search import BudgetExhausted
from loom.domain.llm import ChatRequest, ChatResponse
from loom.domain.search import RoleUsage


class Meter:
    """Shared by the roles of one run. Thread-safe."""

    def __init__(self, max_usd: float | None, on_call: Callable[[str, ChatResponse], None] | None = None) -> None:
        self.max_usd = max_usd
        self.usage: dict[str, RoleUsage] = {}
        self._largest: dict[str, float] = {}  # the priciest call seen per role: the next call's estimate
        self._lock = threading.Lock()
        self._on_call = on_call

    def spent(self) -> float:
        return sum(u.usd or 0.0 for u in self.usage.values())

    def check(self, role: str) -> None:
        """Raise BudgetExhausted when the next call of `role` would pass the cap."""
        if self.max_usd is None:
            return
        with self._lock:
            estimate = self._largest.get(role, 0.0)
            if self.spent() + estimate > self.max_usd or (self.max_usd == 0 and role not in self._largest):
                raise BudgetExhausted(
                    f"stopped before a {role} call: spent ${self.spent():.4f}, the next call "
                    f"(~${estimate:.4f}) would pass --max-usd {self.max_usd}"
                )

    def add(self, role: str, response: ChatResponse) -> None:
        with self._lock:
            u = self.usage.setdefault(role, RoleUsage())
            u.calls += 1
            u.input_tokens += response.usage.input_tokens
            u.output_tokens += response.usage.output_tokens
            cost = response.usage.usd
            if cost is None:
                u.usd = None
            elif u.usd is not None:
                u.usd += cost
            if cost is not None:
                self._largest[role] = max(self._largest.get(role, 0.0), cost)
        if self._on_call is not None:
            self._on_call(role, response)

    def restore(self, saved: dict[str, dict]) -> None:
        for role, data in saved.items():
            self.usage[role] = RoleUsage(**{k: data[k] for k in ("calls", "input_tokens", "output_tokens", "usd") if k in data})


class MeteredModel:
    """A ModelPort that records usage and refuses a call past the cap (a ModelPort itself)."""

    def __init__(self, inner: ModelPort, role: str, meter: Meter) -> None:
        self.inner = inner
        self.role = role
        self.meter = meter
        self.name = getattr(inner, "name", "model")

    def complete(self, request: ChatRequest) -> ChatResponse:
        self.meter.check(self.role)
        response = self.inner.complete(request)
        self.meter.add(self.role, response)
        return response
