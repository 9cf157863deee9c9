"""Rendering helpers shared by the lifecycle verbs (eda, features, validate, report, ops, deploy, pipeline)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any, TypeVar

from loom.entrypoints.cli.common import Common, console, effective

T = TypeVar("T")

_STYLE = {"PASS": "bold green", "HEALTHY": "bold green", "ALLOW": "bold green", "OK": "bold green",
          "PLANNED": "bold cyan", "REVIEW": "bold yellow", "ATTENTION": "bold yellow", "SKIPPED": "dim",
          "FAIL": "bold red", "FAILED": "bold red", "REFUSE": "bold red"}


def styled(word: str) -> str:
    style = _STYLE.get(str(word), "bold")
    return f"[{style}]{word}[/{style}]"


def payload(result: Any, **extra: Any) -> dict[str, Any]:
    data = asdict(result)
    data.update(extra)
    return data


@contextmanager
def working(common: Common, message: str) -> Iterator[None]:
    """A spinner on stderr for people; nothing with --json."""
    if effective(common).json:
        yield
        return
    with console(stderr=True).status(message):
        yield


def run_quiet(common: Common, message: str, call: Callable[[], T]) -> T:
    with working(common, message):
        return call()


def verdict_block(out: Any, verdict: str, reasons: list[str] | tuple[str, ...]) -> None:
    out.print(f"VERDICT {styled(verdict)}")
    for reason in reasons:
        out.print(f"  - {reason}")


def flag_table(out: Any, flags: Any, title: str) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in ("column", "kind", "detail"):
        table.add_column(col)
    for f in flags:
        table.add_row(f.column, f.kind, f.detail)
    out.print(table)
