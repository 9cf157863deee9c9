"""The model card over runs: best, spread, leaderboard, lineage, validate verdicts (Markdown + HTML).

The HTML is self-contained (inline CSS, no scripts) so it opens offline anywhere.
"""

from __future__ import annotations

import html
import statistics
from typing import Any

from loom.adapters.shared.card_text import lit


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Leaderboard (best first), the best row, and the spread of the scored runs."""
    scored = [r for r in rows if isinstance(r.get("score"), (int, float))]
    greater = all(r.get("greater_is_better", True) for r in scored) if scored else True
    board = sorted(scored, key=lambda r: r["score"], reverse=greater) + [r for r in rows if r not in scored]
    values = [float(r["score"]) for r in scored]
    spread = {}
    if values:
        spread = {
            "min": round(min(values), 6),
            "max": round(max(values), 6),
            "mean": round(statistics.fmean(values), 6),
            "stdev": round(statistics.pstdev(values), 6),
            "n": len(values),
        }
    for i, row in enumerate(board, 1):
        row["rank"] = i
    # a run its own validation FAILed (leakage, no better than trivial) is never "best"
    eligible = [r for r in board if r in scored and r.get("verdict") != "FAIL"]
    return {"leaderboard": board, "best": eligible[0] if eligible else None, "spread": spread}


def markdown(title: str, summary: dict[str, Any], verdicts: dict[str, str]) -> str:
    """The model card as Markdown (model_card.md and the ReportFlow card): every name, id, metric and
    pathspec in it is user text, shown as a literal (`lit`), never parsed as Markdown or HTML."""
    best = summary["best"]
    lines = [f"# Model card: {lit(title)}", ""]
    if best:
        lines += [f"**Best:** {lit(best['pathspec'])} — {lit(best.get('metric') or 'score')} = {best['score']:.4f}", ""]
    else:
        lines += ["**Best:** no scored run", ""]
    if summary["spread"]:
        s = summary["spread"]
        lines += [f"**Spread** over {s['n']} scored runs: min {s['min']:.4f}, mean {s['mean']:.4f}, "
                  f"max {s['max']:.4f}, stdev {s['stdev']:.4f}", ""]
    lines += ["## Leaderboard", "", "| rank | run | kind | metric | score | status | verdict | dataset |",
              "|---|---|---|---|---|---|---|---|"]
    for r in summary["leaderboard"]:
        sc = f"{r['score']:.4f}" if isinstance(r.get("score"), (int, float)) else "—"
        cell = [lit(c, table=True) if c else "" for c in (r["pathspec"], r.get("kind", ""), r.get("metric") or "",
                                                          r.get("status", ""), r.get("verdict") or "", r.get("dataset") or "")]
        lines.append(f"| {r['rank']} | {' | '.join(cell[:3])} | {sc} | {' | '.join(cell[3:])} |")
    lines += ["", "## Validate verdicts", ""]
    if verdicts:
        lines += [f"- {lit(k)}: **{lit(v)}**" for k, v in verdicts.items()]
    else:
        lines.append("- none among these runs (run `loom validate --solution RUN`)")
    lines += ["", "## Lineage", ""]
    for r in summary["leaderboard"]:
        chain = " -> ".join(lit(x) for x in r.get("lineage") or []) or "(none recorded)"
        lines.append(f"- {lit(r['pathspec'])}: {chain}")
    return "\n".join(lines) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 8px;font-size:14px}th{background:#f3f3f3}
.PASS{color:#1a7f37;font-weight:bold}.REVIEW{color:#9a6700;font-weight:bold}.FAIL{color:#cf222e;font-weight:bold}"""


def to_html(title: str, summary: dict[str, Any], verdicts: dict[str, str]) -> str:
    e = html.escape
    best = summary["best"]
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Model card: {e(title)}</title>",
             f"<style>{_CSS}</style></head><body><h1>Model card: {e(title)}</h1>"]
    if best:
        parts.append(f"<p><b>Best:</b> <code>{e(best['pathspec'])}</code> — {e(str(best.get('metric') or 'score'))} = "
                     f"{best['score']:.4f}</p>")
    if summary["spread"]:
        s = summary["spread"]
        parts.append(f"<p><b>Spread</b> over {s['n']} scored runs: min {s['min']:.4f}, mean {s['mean']:.4f}, "
                     f"max {s['max']:.4f}, stdev {s['stdev']:.4f}</p>")
    parts.append("<h2>Leaderboard</h2><table><tr><th>rank</th><th>run</th><th>kind</th><th>metric</th><th>score</th>"
                 "<th>status</th><th>verdict</th><th>dataset</th></tr>")
    for r in summary["leaderboard"]:
        sc = f"{r['score']:.4f}" if isinstance(r.get("score"), (int, float)) else "—"
        v = r.get("verdict") or ""
        parts.append(f"<tr><td>{r['rank']}</td><td><code>{e(r['pathspec'])}</code></td><td>{e(str(r.get('kind', '')))}</td>"
                     f"<td>{e(str(r.get('metric') or ''))}</td><td>{sc}</td><td>{e(str(r.get('status', '')))}</td>"
                     f"<td class='{e(v)}'>{e(v)}</td><td>{e(str(r.get('dataset') or ''))}</td></tr>")
    parts.append("</table><h2>Validate verdicts</h2><ul>")
    for k, v in verdicts.items() or []:
        parts.append(f"<li><code>{e(k)}</code>: <span class='{e(v)}'>{e(v)}</span></li>")
    if not verdicts:
        parts.append("<li>none among these runs</li>")
    parts.append("</ul><h2>Lineage</h2><ul>")
    for r in summary["leaderboard"]:
        parts.append(f"<li><code>{e(r['pathspec'])}</code>: {e(' -> '.join(r.get('lineage') or []) or '(none recorded)')}</li>")
    parts.append("</ul></body></html>")
    return "".join(parts)
