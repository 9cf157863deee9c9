"""Observer port: progress events from long work (the CLI's rich bars, a service's own feed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Event:
    """One thing that happened. `kind`: run_started, node_started, node_finished, run_finished, stage, ..."""

    kind: str
    run_id: str = ""
    step: int | None = None
    node_id: str | None = None
    node_kind: str | None = None  # draft | debug | improve
    metric: float | None = None
    holdout_metric: float | None = None  # Loom's grade on the sealed selection slice (node_finished)
    buggy: bool | None = None
    tokens: int | None = None
    usd: float | None = None
    pathspec: str | None = None
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Observer(Protocol):
    def notify(self, event: Event) -> None: ...


class NullObserver:
    def notify(self, event: Event) -> None:
        return None


class CallbackObserver:
    """Adapts a plain callable `event -> None` (what a service usually has)."""

    def __init__(self, fn: Callable[[Event], None]) -> None:
        self._fn = fn

    def notify(self, event: Event) -> None:
        self._fn(event)
