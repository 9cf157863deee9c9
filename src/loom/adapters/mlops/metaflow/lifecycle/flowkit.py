"""What the lifecycle flows share at run time: reading data objects and runs, card helpers.

Runs inside a flow's process (the flow's METAFLOW_* environment is already Loom's), so the
Client API here needs no LoomConfig. A bad input raises `UsageError`: `run_flow` maps it to
exit 2 with the message as the one line.
"""

from __future__ import annotations

from typing import Any

from loom.domain.errors import UsageError

DATA_ARTIFACTS = ("train", "test", "sample_submission", "schema", "fingerprint", "dataset_name", "source")

#: Tags `loom run` may put on candidate runs of an experiment (the first is the documented one).
EXPERIMENT_TAGS = ("experiment:{}", "experiment_id:{}", "experiment={}")


def client_run(pathspec: str) -> Any:
    from metaflow import Run, namespace
    from metaflow.exception import MetaflowNotFound

    namespace(None)
    try:
        return Run(pathspec)
    except MetaflowNotFound:
        raise UsageError(f"{pathspec} not found in the Metaflow datastore") from None


def read_tables(pathspec: str) -> dict[str, Any]:
    """The data-object artifacts of IngestDataset/N or FeaturesFlow/N (UsageError otherwise)."""
    run = client_run(pathspec)
    data = run.data
    if data is None or "train" not in data or "schema" not in data:
        raise UsageError(f"{pathspec} is not a data object (no train/schema artifacts); pass IngestDataset/N or FeaturesFlow/N")
    out = {name: getattr(data, name) if name in data else None for name in DATA_ARTIFACTS}
    out["schema"] = dict(out["schema"] or {})
    out["lineage"] = list(getattr(data, "lineage", []) or []) if "lineage" in data else [pathspec]
    out["pathspec"] = pathspec
    return out


def artifacts(run: Any, names: tuple[str, ...]) -> dict[str, Any]:
    data = run.data if run.finished else None
    if data is None:
        return {}
    return {name: getattr(data, name) for name in names if name in data}


def experiment_runs(experiment: str, limit: int = 500) -> list[Any]:
    """Every run (of any flow) carrying one of the experiment tags."""
    from metaflow import Metaflow, namespace

    namespace(None)
    found: dict[str, Any] = {}
    for flow in Metaflow():
        for pattern in EXPERIMENT_TAGS:
            for run in flow.runs(pattern.format(experiment)):
                found[run.pathspec] = run
                if len(found) >= limit:
                    return list(found.values())
    return sorted(found.values(), key=lambda r: r.created_at)


def markdown_table(rows: list[list[Any]], headers: list[str]) -> Any:
    from metaflow.cards import Table

    return Table([[_cell(v) for v in row] for row in rows], headers=headers)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return "" if v is None else str(v)


def image(fig: Any) -> Any:
    from metaflow.cards import Image

    return Image.from_matplotlib(fig)


def verdict_md(verdict: str, reasons: list[str]) -> str:
    """The VERDICT heading and its reasons (plain text: headless fonts have no emoji)."""
    body = "\n".join(f"- {r}" for r in reasons)
    return f"## VERDICT: {verdict}\n\n{body}"
