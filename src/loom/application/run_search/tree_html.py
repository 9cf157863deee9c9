"""tree.html: the solution tree as one self-contained page (no scripts, no CDN; renders offline)."""

from __future__ import annotations

from html import escape

from loom.domain.metrics import MetricSpec
from loom.domain.search import Node

_CSS = """
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.3em} .meta{color:#555;margin-bottom:1em}
ul.tree,ul.tree ul{list-style:none;padding-left:1.4em;border-left:1px dashed #bbb;margin:0}
ul.tree{border-left:none;padding-left:0}
details{margin:.25em 0} summary{cursor:pointer}
.k{display:inline-block;min-width:4.5em;font-weight:600}
.draft{color:#2a6} .improve{color:#26a} .debug{color:#a62} .bug{color:#b00}
.best{background:#ffe9a8;border-radius:3px;padding:0 .3em}
pre{background:#f6f6f6;padding:.6em;overflow:auto;max-height:30em;font-size:12px}
table{border-collapse:collapse} td,th{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left}
"""


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.5g}"


def _node_html(node: Node, children: dict[str | None, list[Node]], best_id: str | None) -> str:
    status = '<span class="bug">buggy</span>' if node.buggy else (
        f"self-reported {_fmt(node.metric)} · selection {_fmt(node.selection)}")
    cls = "best" if node.id == best_id else ""
    extra = f" · {escape(node.exc_type)}" if node.exc_type else ""
    summary = (f'<summary><span class="{cls}"><span class="k {node.kind}">{node.kind}</span> '
               f"step {node.step} · {status}{extra} · {node.exec_time:.1f}s</span></summary>")
    body = (f"<p>{escape(node.plan or '')}</p>"
            f"<p><i>{escape(node.analysis or '')}</i></p>"
            f"<pre>{escape(node.code)}</pre>"
            f"<details><summary>output</summary><pre>{escape(node.term_out or '')}</pre></details>")
    kids = "".join(_node_html(c, children, best_id) for c in children.get(node.id, []))
    return f"<li><details>{summary}{body}</details>" + (f"<ul>{kids}</ul>" if kids else "") + "</li>"


def render(run_id: str, goal: str, metric: MetricSpec, nodes: list[Node], best: Node | None) -> str:
    ids = {n.id for n in nodes}
    children: dict[str | None, list[Node]] = {}
    for node in sorted(nodes, key=lambda n: n.step):
        parent = node.parent_id if node.parent_id in ids else None
        children.setdefault(parent, []).append(node)
    roots = "".join(_node_html(n, children, best.id if best else None) for n in children.get(None, []))
    best_line = (f"best: step {best.step} ({best.kind}) — selection {_fmt(best.selection)}, "
                 f"self-reported {_fmt(best.metric)}" if best else "no working candidate")
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Loom run {escape(run_id)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Loom run {escape(run_id)}</h1>"
        f"<div class='meta'>{escape(goal)}<br>{metric.direction} {escape(metric.label)} · "
        f"{len(nodes)} nodes · {escape(best_line)}</div>"
        f"<ul class='tree'>{roots}</ul></body></html>\n"
    )
