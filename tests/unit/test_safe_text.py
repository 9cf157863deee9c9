"""safe() / console(): user text in the human output prints as text, with no terminal control."""

from __future__ import annotations

import pytest

pytest.importorskip("rich")

from rich.table import Table  # noqa: E402

from loom.entrypoints.cli.common import console  # noqa: E402
from loom.entrypoints.cli.safe_text import safe, strip_controls  # noqa: E402

HOSTILE = "a[/bold] [link=http://e.x/]b[/link] c\x1b]52;c;ZXZpbA==\x07 d\x1b[2J e\x9b1m\tf"


def test_safe_escapes_markup_and_drops_control_characters() -> None:
    assert strip_controls("x\x1b[2J\ty\nz\x07\x9b") == "x[2J\ty\nz"
    out = console()
    with out.capture() as cap:
        out.print(f"[bold]{safe(HOSTILE)}[/bold]")
    assert cap.get() == "a[/bold] [link=http://e.x/]b[/link] c]52;c;ZXZpbA== d[2J e1m    f\n"  # (rich expands the tab)


def test_console_strips_escapes_a_sink_forgot_and_prints_bad_markup_as_text(monkeypatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # styles on: rich's own ESC codes stay, the user's go
    monkeypatch.setenv("TERM", "xterm-256color")
    out = console()
    table = Table()
    table.add_column("column")
    table.add_row("x\x1b]52;c;ZXZpbA==\x07 y\x1b[2J")  # (markup a sink forgot to escape would still be live)
    with out.capture() as cap:
        out.print(f"[bold]ok[/bold] {HOSTILE}")  # no safe(): unbalanced markup, escapes
        out.print(table)
    text = cap.get()
    assert "]52;" in text and "[/bold]" in text and "\x07" not in text and "\x9b" not in text
    assert "\x1b]" not in text and "\x1b[2J" not in text
    assert "\x1b[1m" in text  # the table header's bold: rich's styling is untouched
