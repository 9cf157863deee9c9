"""Where a run's data comes from: `--data DIR` (or its plain CSV copy), `--data FILE` split as
`loom ingest` splits it, or `--dataset PATHSPEC` materialized; with an MLOps provider that keeps
data objects, `--data` is ingested first. Every copy holds every label, the sealed rows' too, so
it lives under the run store's sealed dir."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.application import dialect
from loom.application.ports.mlops import DataStore
from loom.application.ports.observer import Event, Observer
from loom.application.run_search import task_prep
from loom.domain.errors import UsageError

if TYPE_CHECKING:
    from loom.application.run_search.usecase import RunRequest

log = logging.getLogger(__name__)


def source(request: "RunRequest", executor: Any, sealed_dir: Path, observer: Observer, *,
           seed: int) -> "tuple[Path, RunRequest, dialect.Source | None]":
    """(the data dir to prepare, the request as the run goes on with it, how the user's tables were
    read: None for --dataset)."""
    if request.data is not None and request.dataset is not None:  # else --data would silently win
        raise UsageError("pass exactly one of --data DIR/FILE or --dataset IngestDataset/N")
    if request.data is None:
        return materialize(executor, str(request.dataset), sealed_dir / "source"), request, None
    plain = task_prep.plain_source(task_prep.check_data(request.data), sealed_dir / "plain")
    data = plain.path
    request = ingest_first(request, executor, data, observer)
    if data.is_file():
        dest, target = task_prep.split_file(data, sealed_dir / "source", target=request.target,
                                            time_column=request.time_column, seed=seed)
        return dest, replace(request, target=target), plain
    return data, request, plain


def ingest_first(request: "RunRequest", executor: Any, data: Path, observer: Observer) -> "RunRequest":
    """`--data DIR` with an MLOps provider that keeps data objects (metaflow): ingest the dir (as
    plain CSV) first, say so, and search the data object (candidate runs then point at its pathspec)."""
    if request.data is None or request.dataset is not None or not isinstance(executor, DataStore):
        return request
    info = executor.ingest(data, name=None, target=request.target, time_column=request.time_column)
    observer.notify(Event("ingested", pathspec=info.pathspec, message=f"ingested {data} as {info.pathspec}"))
    log.info("ingested --data first", extra={"data": str(data), "pathspec": info.pathspec})
    return replace(request, dataset=info.pathspec)  # keep --data: no round trip through the store


def materialize(executor: Any, pathspec: str, dest: Path) -> Path:
    """`--dataset`: the MLOps adapter writes the data object's train/test CSVs into `dest`."""
    write = getattr(executor, "materialize", None)
    if not callable(write):
        raise UsageError(f"--dataset needs an MLOps provider with data objects "
                         f"(--mlops metaflow); '{getattr(executor, 'name', '?')}' has none — use --data DIR")
    dest.mkdir(parents=True, exist_ok=True)
    write(pathspec, dest)
    return task_prep.check_data_dir(dest)
