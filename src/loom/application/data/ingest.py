"""Ingest: a data dir or one CSV/Parquet file -> a versioned data object (IngestDataset/N)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loom.application import dialect
from loom.application.ports.mlops import DatasetInfo, DataStore
from loom.domain.errors import UsageError

log = logging.getLogger(__name__)


def require_data_store(mlops: Any, verb: str) -> DataStore:
    """The MLOps adapter as a DataStore, or a one-line UsageError pointing at --mlops metaflow."""
    if isinstance(mlops, DataStore):
        return mlops
    name = getattr(mlops, "name", type(mlops).__name__)
    raise UsageError(
        f"`loom {verb}` needs data objects, which the '{name}' MLOps provider does not keep; "
        "use --mlops metaflow (LOOM_MLOPS_PROVIDER=metaflow)"
    )


class Ingest:
    """Turn `source` into a data object; returns what was stored (pathspec, schema summary)."""

    def __init__(self, mlops: Any) -> None:
        self._mlops = mlops

    def __call__(
        self,
        source: Path,
        *,
        name: str | None = None,
        target: str | None = None,
        on_progress: Callable[[str], None] | None = None,
        time_column: str | None = None,
    ) -> DatasetInfo:
        store = require_data_store(self._mlops, "ingest")
        source = Path(source).expanduser()
        if not source.exists():
            raise UsageError(f"{source} does not exist; pass a data dir or a CSV/Parquet file")
        if source.is_file() and not dialect.is_table_file(source):
            raise UsageError(f"{source} is not a CSV or Parquet file (.csv, .tsv, .parquet, or one of them compressed)")
        if source.is_dir() and "train" not in dialect.table_files(source):
            raise UsageError(f"{source} has no train.csv; a data dir holds train.csv [+ test.csv] [+ sample_submission.csv]")
        info = store.ingest(source.resolve(), name=name, target=target, on_progress=on_progress, time_column=time_column)
        log.info("ingested", extra={"pathspec": info.pathspec, "fingerprint": info.fingerprint})
        return info
