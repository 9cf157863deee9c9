"""Rendering for `loom run`: a rich progress bar fed by Observer events, and the final summary."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from loom.application.ports.observer import Event
from loom.domain.search import ranked_on

if TYPE_CHECKING:
    from rich.console import Console

    from loom.domain.search import SearchResult


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.5g}"


class RichProgress:
    """Observer: one bar over the steps; the line shows node kind, last/best metric, tokens, $.

    "best" follows the metric's direction, which arrives with run_started (new or resumed run).
    """

    def __init__(self, console: "Console", steps: int, maximize: bool = True) -> None:
        self.maximize = maximize
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("{task.fields[info]}"), console=console, transient=False,
        )
        self.task = self.progress.add_task("search", total=steps, info="starting")
        self.tokens, self.usd = 0, 0.0
        self.best: float | None = None
        self.last = ""
        self._lock = threading.Lock()

    def __enter__(self) -> "RichProgress":
        self.started = False  # shown from run_started on: bad input prints only its one line
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.started:
            self.progress.stop()

    def _info(self) -> str:
        money = f" · ${self.usd:.4f}" if self.usd else ""
        return f"{self.last} · best {_fmt(self.best)} · {self.tokens} tok{money}"

    def notify(self, event: Event) -> None:
        from loom.entrypoints.cli.safe_text import safe  # event messages quote columns, values, errors

        with self._lock:
            if event.kind == "run_started":
                self.progress.start()
                self.started = True
                self.maximize = bool(event.data.get("maximize", self.maximize))
                self.progress.update(self.task, total=event.data.get("steps"), completed=0,
                                     description=f"run {safe(event.run_id)}")
            elif event.kind == "node_started":
                self.last = f"step {event.step} {safe(event.node_kind)}…"
            elif event.kind == "node_finished":
                shown = "buggy" + (f" ({safe(event.message)})" if event.message else "") if event.buggy else (
                    f"self-reported {_fmt(event.metric)} selection {_fmt(event.holdout_metric)}")
                self.last = f"step {event.step} {safe(event.node_kind)}: {shown}"
                value = event.holdout_metric if event.holdout_metric is not None else event.metric
                if not event.buggy and value is not None and (
                        self.best is None or (value > self.best if self.maximize else value < self.best)):
                    self.best = value
                self.progress.advance(self.task)
            elif event.kind == "llm_call":
                self.tokens = event.tokens or self.tokens
                self.usd = event.usd or self.usd
            elif event.kind == "warning":
                self.progress.console.print(f"[yellow]warning:[/] {safe(event.message)}", highlight=False)
            elif event.kind in ("stage", "ingested"):
                self.last = safe(event.message)
                if event.kind == "ingested" or event.data.get("leaks"):
                    self.progress.console.print(self.last)
            self.progress.update(self.task, info=self._info())


def payload(result: "SearchResult", dataset: str | None = None) -> dict[str, Any]:
    """`loom run --json`: the result, with `dataset` after `run_dir`: the data object the run searched
    (the --dataset given, or the IngestDataset/N --data was ingested as first; null when none), as
    the run's manifest.json records it under inputs (a resumed run's too). `dataset`: the flag."""
    import json
    from pathlib import Path

    manifest = Path(result.paths.get("manifest") or "")
    try:
        dataset = (json.loads(manifest.read_text(encoding="utf-8")).get("inputs") or {}).get("dataset") or dataset
    except (OSError, ValueError, AttributeError):
        pass  # no manifest (yet): the flag is all there is to say
    out: dict[str, Any] = {}
    for key, value in result.to_dict().items():
        out[key] = value
        if key == "run_dir":
            out["dataset"] = dataset
    return out


def summary(result: "SearchResult", out: "Console") -> None:
    from rich.table import Table

    from loom.entrypoints.cli.safe_text import safe

    data = result.to_dict()
    best = result.best
    metric = result.metric
    out.print(f"[bold]STATUS {result.status.value}[/bold]  run {result.run_id}"
              + (f" — {safe(result.message)}" if result.message else ""))
    out.print(f"metric: {metric.direction} {metric.label} — {metric.info.definition}")
    est = result.estimate
    if est is not None:
        span = "no interval" if est.low is None or est.high is None else f"95% interval [{est.low:.5g}, {est.high:.5g}]"
        out.print(f"[bold]estimate: {metric.label} {est.value:.5g}[/bold] ({span}) on {est.rows} sealed rows "
                  f"that played no part in choosing the best" + (" · WIDE" if est.wide else ""))
    split = result.split or {}
    if split:
        rows = split.get("rows") or {}
        how = {"time": f"by time: the latest rows by '{safe(split.get('time_column'))}' are sealed",
               "group": f"by group: whole '{safe(split.get('group_column'))}' groups are sealed (test.csv holds new ones)",
               "copies": "by copies: each set of identical rows is sealed whole (test.csv's rows are not copies)",
               "stratified": "stratified random draw", "random": "seeded random draw",
               "none": "nothing sealed (too few rows)"}.get(split.get("kind", ""), split.get("kind", ""))
        out.print(f"split: {how} · train {rows.get('train', 0)}, selection {rows.get('selection', 0)}, "
                  f"final {rows.get('final', 0)} rows")
    if best is not None:
        out.print(f"best: step {best.step} ({best.kind}) · selection {_fmt(best.selection)} · "
                  f"self-reported {_fmt(best.metric)}")
    refit = result.refit or {}
    if refit.get("used"):
        out.print(f"submission: the best refit on all {refit['rows']} labelled rows ({refit['exec_time']:.1f}s); "
                  "the estimate is of the same code fit without the sealed rows")
    elif refit and "submission" in result.paths:
        out.print(f"submission: the best as chosen ({refit.get('why')})")
    elif best is not None:
        out.print("submission: none (no test rows to predict)")
    out.print(f"nodes: {data['nodes']} ({data['buggy_nodes']} buggy) · wall {result.wall_time:.1f}s")
    for role, usage in result.usage.items():
        usd = "unknown $" if usage.usd is None else f"${usage.usd:.4f}"
        out.print(f"{role}: {usage.calls} calls · {usage.tokens} tokens · {usd}")
    if result.leaks:
        out.print(f"[bold]leak screen ({safe(result.leak_mode)}):[/bold] "
                  + ", ".join(f"{safe(f['column'])} ({safe(f['kind'])})" for f in result.leaks))
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/yellow] {safe(warning)}")
    show_pathspec = any(n.pathspec for n in result.leaderboard)
    table = Table(title=f"Leaderboard (top 10; ▲ ranks: Loom's selection-slice {metric.label}, then self-reported)")
    for col in ("#", "node", "kind", "self-reported", "selection", "time s") + (("pathspec",) if show_pathspec else ()):
        table.add_column(col, overflow="fold", min_width=22 if col == "pathspec" else None)
    for i, node in enumerate(result.leaderboard[:10], start=1):
        on = ranked_on(node)
        mine = (lambda text, which: f"{text} ▲" if on == which else text)
        row = [str(i), node.id[:8], node.kind, "buggy" if node.buggy else mine(_fmt(node.metric), "self_reported"),
               mine(_fmt(node.selection), "selection"), f"{node.exec_time:.1f}"]
        table.add_row(*row, *([node.pathspec or ""] if show_pathspec else []))
    out.print(table)
    for name, path in result.paths.items():
        if name in ("best_solution", "submission", "leaderboard", "tree", "run_dir"):
            out.print(f"{name}: {path}")
