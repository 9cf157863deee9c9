"""`lit` / `block`: user text in a card's Markdown is shown as text, never parsed as HTML or Markdown.

Rendered with markdown-it (CommonMark with raw HTML on, as Metaflow's marked renders a card's
Markdown): the only tags in the output are the code span / block Loom asked for, and the text in
it is exactly the user's (control characters as spaces).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from loom.adapters.shared.card_text import block, lit

markdown_it = pytest.importorskip("markdown_it")

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "d` <img src=x onerror=alert(2)> `",
    "<script>alert(3)</script>",
    "``` ```` `<svg onload=alert(4)>`` `",
    "`",
    "``",
    " leading and trailing ",
    "[click](javascript:alert(5)) ![i](http://e.x/a.png) <http://e.x/> **b** _i_ # h",
    "a\n\n<img src=x onerror=alert(6)>\n- item",
    "&lt;img&gt; &amp; \\<b\\> \\` x",
    "col|with|pipes \\| and \\\\| <i>",
    "esc \x1b]52;c;ZXZpbA==\x07 \x1b[2J \x9b end",
    "",
]


def render(source: str) -> str:
    return markdown_it.MarkdownIt("commonmark").enable("table").render(source)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)


def tags(out: str) -> list[str]:
    parser = Tags()
    parser.feed(out)
    return parser.tags


def shown(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", text)


@pytest.mark.parametrize("text", HOSTILE)
def test_lit_is_one_code_span_showing_exactly_the_text(text: str) -> None:
    out = render(f"before {lit(text)} after")
    assert tags(out) == ["p", "code"], out
    inner = re.search(r"<code>(.*)</code>", out, re.S).group(1)
    assert html.unescape(inner) == (shown(text) or " ")


@pytest.mark.parametrize("text", HOSTILE)
def test_lit_in_a_heading_and_a_list_item(text: str) -> None:
    assert tags(render(f"# Dataset {lit(text)}")) == ["h1", "code"]
    assert tags(render(f"- {lit(text)}\n- {lit(text)}")) == ["ul", "li", "code", "li", "code"]


@pytest.mark.parametrize("text", HOSTILE)
def test_lit_in_a_table_cell_stays_in_its_cell(text: str) -> None:
    out = render(f"| a | b | c |\n|---|---|---|\n| 1 | {lit(text, table=True)} | end |")
    assert [t for t in tags(out) if t not in ("table", "thead", "tbody", "tr", "th", "td")] == ["code"], out
    assert re.search(r"<td>end</td>", out), out  # the third cell is still the third


def test_block_keeps_lines_and_cannot_be_closed() -> None:
    text = "out ```\n```\n<img src=x onerror=alert(1)>\n````\n~~~\n<script>x</script>\x1b[2J"
    out = render(f"## Output\n\n{block(text)}\n\n<b>ours</b>")
    assert tags(out) == ["h2", "pre", "code", "p", "b"], out  # only our own <b> after the block is HTML
    inner = re.search(r"<code>(.*)</code>", out, re.S).group(1)
    assert html.unescape(inner) == text.replace("\x1b", " ") + "\n"


def test_the_old_way_was_live_html() -> None:
    """The check above can fail: the card's former `...` quoting lets a backtick in the text out."""
    assert "img" in tags(render("# Dataset `d` <img src=x onerror=alert(2)> ``"))
