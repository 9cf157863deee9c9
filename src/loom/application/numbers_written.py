"""Numbers a spreadsheet wrote for people: decimal commas ("1.234,5", in a ';'-separated file) and
thousands separators ("1,234,567.50", quoted in a comma-separated one). `dialect` rewrites such
columns as plain numbers in the copy a run and the ingest step read. pyarrow only when called."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

DECIMAL_COMMA = r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$"
THOUSANDS = r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$"


def thousands(table: "pa.Table") -> tuple["pa.Table", list[str]]:
    """Columns of numbers written with thousands separators, without them ("1,234.5" -> "1234.5")."""
    import pyarrow.compute as pc

    return rewritten(table, THOUSANDS, lambda text: pc.replace_substring(text, ",", ""))


def decimal_commas(table: "pa.Table") -> tuple["pa.Table", list[str]]:
    """Columns of numbers written with decimal commas, rewritten with points ("1.234,5" -> "1234.5")."""
    import pyarrow.compute as pc

    return rewritten(table, DECIMAL_COMMA,
                     lambda text: pc.replace_substring(pc.replace_substring(text, ".", ""), ",", "."))


def rewritten(table: "pa.Table", pattern: str, plain: Callable[[Any], Any]) -> tuple["pa.Table", list[str]]:
    """The columns holding a comma whose filled cells are, at least 95% of them, numbers written as
    `pattern` says, with those cells rewritten by `plain`; (table, the columns rewritten)."""
    import pyarrow.compute as pc

    changed = []
    for i, name in enumerate(table.column_names):
        text = pc.utf8_trim_whitespace(table.column(i))
        filled = pc.not_equal(text, "")
        count = pc.sum(filled).as_py() or 0
        if not count or not pc.any(pc.match_substring(text, ",")).as_py():
            continue
        number = pc.match_substring_regex(text, pattern)
        if (pc.sum(pc.and_(filled, number)).as_py() or 0) < 0.95 * count:
            continue
        table = table.set_column(i, name, pc.if_else(number, plain(text), text))
        changed.append(name)
    return table, changed
