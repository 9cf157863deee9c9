"""Outcome statuses shared by every verb (printed as STATUS ..., and in --json)."""

from __future__ import annotations

from enum import Enum

from loom.domain.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_REFUSED


class Status(str, Enum):
    OK = "OK"
    BUILT = "BUILT"
    PLANNED = "PLANNED"
    FAILED = "FAILED"
    STOPPED_AT_BUDGET = "STOPPED_AT_BUDGET"
    INTERRUPTED = "INTERRUPTED"
    REFUSED_NO_GPU_TARGET = "REFUSED_NO_GPU_TARGET"
    REFUSED_UNKNOWN_GPU_TARGET = "REFUSED_UNKNOWN_GPU_TARGET"
    REFUSED_SPEND_CAP = "REFUSED_SPEND_CAP"
    REFUSED_GATE = "REFUSED_GATE"

    @property
    def exit_code(self) -> int:
        if self.value.startswith("REFUSED_"):
            return EXIT_REFUSED
        if self is Status.FAILED:
            return EXIT_FAILURE
        if self is Status.INTERRUPTED:
            return EXIT_INTERRUPTED
        return EXIT_OK

    def __str__(self) -> str:
        return self.value
