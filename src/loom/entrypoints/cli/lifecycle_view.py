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
    from loom.entrypoints.cli.safe_text import safe

    with console(stderr=True).status(safe(message)):  # the message quotes the user's arguments
        yield


def run_quiet(common: Common, message: str, call: Callable[[], T]) -> T:
    with working(common, message):
        return call()


def verdict_block(out: Any, verdict: str, reasons: list[str] | tuple[str, ...]) -> None:
    from loom.entrypoints.cli.safe_text import safe

    out.print(f"VERDICT {styled(verdict)}")
    for reason in reasons:
        out.print(f"  - {safe(reason)}")


def flag_table(out: Any, flags: Any, title: str) -> None:
    from rich.table import Table

    from loom.entrypoints.cli.safe_text import safe

    table = Table(title=title, title_justify="left")
    for col in ("column", "kind", "detail"):
        table.add_column(col)
    for f in flags:
        table.add_row(safe(f.column), safe(f.kind), safe(f.detail))
    out.print(table)
