"""Read-only views over the Client API: datasets, runs, show, card."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from cyclopts import Parameter

from loom.domain.errors import UsageError
from loom.entrypoints.cli.common import Common, container_for, emit, load_config

_MLOPS_HELP = "MLOps provider (LOOM_MLOPS_PROVIDER); these views need metaflow."


def _search_runs(config) -> list[str]:  # type: ignore[no-untyped-def]
    """The `loom run` folders under LOOM_HOME/runs, newest first (run ids sort by time)."""
    root = config.home / "runs"
    try:
        return sorted((p.name for p in root.iterdir() if (p / "journal.json").is_file()), reverse=True)
    except OSError:
        return []


def _search_run_line(config, run_id: str | None = None) -> str:  # type: ignore[no-untyped-def]
    found = _search_runs(config)
    if run_id is None and not found:
        return ""
    shown = run_id or found[0]
    return (f"`loom run` searches are folders, not Metaflow runs: {config.home / 'runs' / shown} (leaderboard.json, "
            f"submission.csv); their candidates are Metaflow runs under --mlops metaflow (`loom runs --flow CandidateRun`)")


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise UsageError(f"--limit must be at least 1 (got {limit})")


def datasets(
    *,
    limit: Annotated[int, Parameter(help="Show at most this many datasets (newest first).")] = 50,
    mlops: Annotated[str | None, Parameter(help=_MLOPS_HELP)] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """List ingested datasets (data objects)."""
    _check_limit(limit)
    items = container_for(load_config(common, mlops_provider=mlops)).browse().datasets(limit=limit)

    def human(out) -> None:  # type: ignore[no-untyped-def]
        from rich.table import Table

        if not items:
            out.print("no datasets yet; create one with `loom ingest --source DATA`")
            return
        table = Table(title="Datasets")
        from loom.entrypoints.cli.safe_text import safe

        table.add_column("pathspec", no_wrap=True)
        for col in ("name", "train/test", "cols", "target (task)", "fingerprint"):
            table.add_column(col)
        for d in items:
            table.add_row(safe(d.pathspec), safe(d.name), f"{d.rows.get('train', 0):,}/{d.rows.get('test', 0):,}",
                          str(d.columns), safe(f"{d.target} ({d.task_type})"), safe(d.fingerprint[:8]))
        out.print(table)

    emit(common, {"status": "OK", "datasets": [asdict(d) for d in items]}, human)
    return 0


def runs(
    *,
    flow: Annotated[str | None, Parameter(help="Only runs of this flow.")] = None,
    limit: Annotated[int, Parameter(help="Show at most this many runs (newest first).")] = 50,
    mlops: Annotated[str | None, Parameter(help=_MLOPS_HELP)] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """List runs, optionally of one flow."""
    _check_limit(limit)
    config = load_config(common, mlops_provider=mlops)
    items = container_for(config).browse().runs(flow=flow, limit=limit)

    def human(out) -> None:  # type: ignore[no-untyped-def]
        from rich.table import Table

        if not items:
            searches = "" if flow else _search_run_line(config)
            out.print((f"no runs of {flow} yet" if flow else "no Metaflow runs yet") + (f"; {searches}" if searches else ""),
                      markup=False)
            return
        table = Table(title="Runs" + (f" of {flow}" if flow else ""))
        table.add_column("pathspec", no_wrap=True)
        for col in ("status", "created", "tags"):
            table.add_column(col)
        for r in items:
            status = "ok" if r.successful else ("failed" if r.finished else "running/failed")
            created = (r.created_at or "").replace("T", " ")[5:16]
            table.add_row(r.pathspec, status, created, " ".join(r.tags))
        out.print(table)

    emit(common, {"status": "OK", "runs": [asdict(r) for r in items]}, human)
    return 0


def show(
    pathspec: Annotated[str, Parameter(help="Flow/RunId, e.g. IngestDataset/12.")],
    /,
    *,
    artifact: Annotated[str | None, Parameter(help="Print only this artifact's value (JSON; frames and arrays summarised).")] = None,
    mlops: Annotated[str | None, Parameter(help=_MLOPS_HELP)] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Show a pathspec: its status, tags and artifacts.

    With --json the artifacts are their values: JSON-native ones (schemas, metrics, manifests,
    plans) in full, frames and arrays summarised (type, shape, dtypes, the first rows).
    """
    config = load_config(common, mlops_provider=mlops)
    if "/" not in pathspec and pathspec in _search_runs(config):  # a `loom run` id, not Flow/RunId
        raise UsageError(f"'{pathspec}' is a search run, not a pathspec like IngestDataset/12",
                         hint=_search_run_line(config, pathspec))
    browse = container_for(config).browse()
    if artifact is not None:
        value = browse.artifact(pathspec, artifact)

        def one(out) -> None:  # type: ignore[no-untyped-def]
            import json

            out.print(json.dumps(value, indent=2), markup=False)

        emit(common, {"status": "OK", "pathspec": pathspec, "artifact": artifact, "value": value}, one)
        return 0
    detail = browse.show(pathspec)

    def human(out) -> None:  # type: ignore[no-untyped-def]
        from rich.table import Table

        from loom.entrypoints.cli.safe_text import safe

        r = detail.run
        status = "ok" if r.successful else ("failed" if r.finished else "not finished")
        out.print(f"[bold]{r.pathspec}[/bold]  {status}  created {r.created_at}")
        out.print(f"steps: {' -> '.join(detail.steps)}")
        if r.tags:
            out.print(f"tags: {safe(' '.join(r.tags))}")
        table = Table(title="Artifacts")
        table.add_column("name")
        table.add_column("value")
        for key, value in detail.artifacts.items():
            table.add_row(safe(key), safe(value))
        out.print(table)
        for card_path in detail.cards:
            out.print(f"card: {card_path}")

    payload = asdict(detail)
    payload["artifacts"] = payload.pop("values")
    emit(common, {"status": "OK", **payload}, human)
    return 0


def card(
    pathspec: Annotated[str, Parameter(help="Flow/RunId whose card to find.")],
    /,
    *,
    open_: Annotated[bool, Parameter(name="--open", negative="", help="Open the card in a browser.")] = False,
    mlops: Annotated[str | None, Parameter(help=_MLOPS_HELP)] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Print the path of a run's card, or open it in a browser.

    Cards are self-contained HTML files; with the embedded datastore they live under
    LOOM_HOME/metaflow/.metaflow/mf.cards. A run with several cards prints each path.
    """
    paths = container_for(load_config(common, mlops_provider=mlops)).browse().card(pathspec)
    if open_:
        import webbrowser

        webbrowser.open(paths[-1].as_uri())

    def human(out) -> None:  # type: ignore[no-untyped-def]
        for path in paths:
            out.print(str(path))

    emit(common, {"status": "OK", "pathspec": pathspec, "cards": [str(p) for p in paths], "opened": open_}, human)
    return 0
