"""Observer events as machine-readable records: `loom run --events jsonl` and the MCP server.

One record per event: `{"event": kind, "ts": unix seconds, ...the event's set fields}`. Empty
fields are left out; secret values are redacted (a model error message could quote a header).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import fields
from typing import Any, TextIO

from loom.application.ports.observer import Event, Observer
from loom.entrypoints.cli.common import hooks

EVENT_FORMATS = ("none", "jsonl")


def event_record(event: Event) -> dict[str, Any]:
    """A JSON-ready dict of one event (None / empty fields dropped, secrets redacted)."""
    from loom.entrypoints.logging import redact_payload

    record: dict[str, Any] = {"event": event.kind, "ts": round(time.time(), 3)}
    for f in fields(event):
        if f.name == "kind":
            continue
        value = getattr(event, f.name)
        if value is None or value == "" or value == {}:
            continue
        record[f.name] = value
    return redact_payload(record)


class JsonlEvents:
    """Observer: one JSON line per event on a stream (stderr for `loom run --events jsonl`)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()  # workers finish candidates from several threads

    def notify(self, event: Event) -> None:
        line = json.dumps(event_record(event))
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


class Fanout:
    """Observer: every event to each of several observers, in order."""

    def __init__(self, *observers: Observer) -> None:
        self.observers = observers

    def notify(self, event: Event) -> None:
        for observer in self.observers:
            observer.notify(event)


def command_observer(events: str = "none") -> Observer | None:
    """The observer a long verb should add: JSON lines on stderr and/or the in-process caller's.

    None when neither is asked for (the verb then keeps its own rendering).
    """
    import sys

    chosen: list[Observer] = []
    if events == "jsonl":
        chosen.append(JsonlEvents(sys.stderr))
    caller = hooks().observer
    if caller is not None:
        chosen.append(caller)
    if not chosen:
        return None
    return chosen[0] if len(chosen) == 1 else Fanout(*chosen)
