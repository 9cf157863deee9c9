"""User text in a Metaflow card's Markdown, shown as text: `lit` (inline) and `block` (multi-line).

Metaflow's `Markdown` card component renders its source with marked and puts raw HTML through as
HTML, so a dataset name, a column name, an experiment id or an exception that quotes a data value
must never reach it as Markdown source: `<img src=x onerror=...>` runs in the card's page (the
Metaflow UI's origin on a shared datastore), `[x](javascript:...)` is a live link. Escaping with
HTML entities does not work there: the card shows text tokens escaped, so `&lt;` shows up as
`&lt;`; backslash escapes lose the character. A code span is the one Markdown construct whose
content is never parsed (no HTML, no links, no entities) and is shown as it is.

So every piece of user-controlled text that goes into a card's Markdown goes through `lit` (or
`block` for output with line breaks): the text inside a code span whose backtick fence is longer
than any run of backticks in it, so nothing in the text can close the span; line breaks and
other control characters become spaces (a blank line would end the span and the paragraph). In
a Markdown table cell (`table=True`) a pipe is escaped so it cannot end the cell mid-span.
Table components (`metaflow.cards.Table`) are escaped by Metaflow and need none of this.
"""

from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_TICKS = re.compile(r"`+")
_PIPE = re.compile(r"(\\*)\|")


def lit(value: Any, *, table: bool = False) -> str:
    """`value` as an inline code span that shows exactly its text (control characters as spaces)."""
    text = _CONTROL.sub(" ", str(value))
    if table:  # an odd number of backslashes before a pipe keeps it inside the cell
        text = _PIPE.sub(lambda m: m.group(1) + ("\\" if len(m.group(1)) % 2 == 0 else "\\\\") + "|", text)
    if not text:
        return "` `"
    fence = "`" * (_longest_run(text) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""  # a span may not start/end with its fence char
    return f"{fence}{pad}{text}{pad}{fence}"


def block(value: Any) -> str:
    """`value` (output with line breaks) as a fenced code block no line of it can close."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub(lambda m: m.group(0) if m.group(0) in "\n\t" else " ", text)
    fence = "`" * max(3, _longest_run(text) + 1)
    return f"{fence}\n{text}\n{fence}"


def _longest_run(text: str) -> int:
    return max((len(m.group(0)) for m in _TICKS.finditer(text)), default=0)
