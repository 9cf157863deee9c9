"""Readiness checks: what `loom providers` and `loom doctor` report, one line each."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Level(str, Enum):
    PASS = "PASS"
    WARN = "WARN"  # shown, never blocks
    FAIL = "FAIL"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Check:
    """One readiness fact about a provider. `fix` says what to do when it is not PASS."""

    subject: str
    level: Level
    detail: str
    fix: str = ""

    def __post_init__(self) -> None:  # a check shows endpoints: never a URL's password
        from loom.domain.urls import hide_password

        object.__setattr__(self, "detail", hide_password(str(self.detail)))
        object.__setattr__(self, "fix", hide_password(str(self.fix)))

    @property
    def ok(self) -> bool:
        return self.level is not Level.FAIL

    def as_dict(self) -> dict[str, str]:
        return {"subject": self.subject, "level": self.level.value, "detail": self.detail, "fix": self.fix}
