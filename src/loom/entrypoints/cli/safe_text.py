"""User text in the human (rich) output: shown as text, never as markup or terminal control.

Dataset and column names, cell values and messages quoting them reach the terminal. Two things
must not happen: rich reading them as markup (`[link=http://evil/]x[/link]` prints a live link; a
name holding `[/bold]` raises MarkupError after the verb's work was stored), and the terminal
reading their control characters (ESC sequences: OSC 52 writes the clipboard, OSC 8 hides a link,
CSI 2J clears the screen).

- `safe(text)`: for user text put into a markup string (`out.print(f"[bold]{safe(name)}[/bold]")`):
  control characters dropped, markup escaped.
- `CleanOutput`: the render hook `console()` installs: whatever a console prints (tables, status
  lines, a sink that forgot `safe`) has its C0/C1 control characters (but \\n and \\t) removed
  after rendering, so no ESC byte of user text reaches the terminal; rich's own styling codes are
  added after this, and its control segments (cursor moves) pass untouched.
- `MarkupSafeConsole`: a line whose markup does not parse is printed as plain text, not a crash.

`--json` output does not go through rich: JSON escapes control characters itself.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console, ConsoleOptions, RenderHook, RenderResult
from rich.errors import MarkupError
from rich.markup import escape
from rich.segment import Segment
from rich.text import Text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """`text` without C0/C1 control characters (ESC, BEL, CSI, ...), keeping \\n and \\t."""
    return _CONTROL.sub("", text)


def safe(value: Any) -> str:
    """User text for a rich markup string: no control characters, markup escaped."""
    return escape(strip_controls(str(value)))


class _Cleaned:
    def __init__(self, renderable: Any) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.renderable, options):
            if segment.control or not _CONTROL.search(segment.text):
                yield segment
            else:
                yield Segment(strip_controls(segment.text), segment.style)


class CleanOutput(RenderHook):
    """Removes control characters from everything the console renders (see the module doc)."""

    def process_renderables(self, renderables: list[Any]) -> list[Any]:
        return [_Cleaned(r) for r in renderables]


class MarkupSafeConsole(Console):
    """A Console that prints a string whose markup does not parse as plain text."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        try:
            return super().render_str(text, **kwargs)
        except MarkupError:
            return super().render_str(text, **{**kwargs, "markup": False})
