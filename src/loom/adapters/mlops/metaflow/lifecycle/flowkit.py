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


def rows_to_score(tables: dict[str, Any]) -> Any:
    """Every row a data object was made from, as a batch to score: a single file that ingest split
    into train/test is whole again (train + test with its labels: scoring only `test` scored a fifth
    of the rows, without the column ingest took for a target); a data dir's unlabelled test.csv
    when it has one; else train."""
    import pandas as pd

    run = client_run(tables["pathspec"])
    extra = artifacts(run, ("split", "test_labels"))
    train, test, labels = tables["train"], tables["test"], extra.get("test_labels")
    kind = (extra.get("split") or {}).get("kind")
    if kind in ("random", "time") and test is not None and labels is not None and len(labels) == len(test):
        whole = test.reset_index(drop=True).assign(**{c: labels[c].to_numpy() for c in labels.columns})
        return pd.concat([train, whole[[c for c in train.columns if c in whole.columns]]], ignore_index=True)
    return test if test is not None and len(test) else train


def as_trained(pathspec: str, rows: Any) -> Any:
    """`rows` of raw data made as the data object `pathspec` was made: a FeaturesFlow's drops and
    derived columns (date parts, ...), its statistics learnt on its parent's train, parents first.
    A model trained on features was handed raw rows without those columns (blank, silently)."""
    from loom.adapters.mlops.metaflow.lifecycle.analysis import recipes

    a = artifacts(client_run(pathspec), ("parent", "recipe", "dropped", "schema"))
    if not a.get("parent") or not a.get("recipe"):
        return rows
    rows = as_trained(a["parent"], rows)
    drop = [f["column"] for f in a.get("dropped") or [] if isinstance(f, dict)]
    target = (a.get("schema") or {}).get("target") or ""
    _, made, _ = recipes.apply(read_tables(a["parent"])["train"], rows, target=target, drop=drop, recipe=a["recipe"])
    return made


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
    """The VERDICT heading and its reasons (plain text: headless fonts have no emoji).

    A reason quotes user text (column names, values), so each is shown as a literal (`lit`)."""
    from loom.adapters.shared.card_text import lit

    body = "\n".join(f"- {lit(r)}" for r in reasons)
    return f"## VERDICT: {lit(verdict)}\n\n{body}"
