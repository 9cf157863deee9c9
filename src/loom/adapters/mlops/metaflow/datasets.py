"""Data objects: read the tables of an IngestDataset (or any flow storing the same artifacts).

The data-object contract: artifacts `train`, `test`, `sample_submission` (DataFrames or None),
`schema` ({columns:[{name,dtype}], rows:{train,test}, target, id_columns, task_type}),
`fingerprint` (sha256 over content), `dataset_name`, `source`. IngestDataset writes them;
FeaturesFlow and other data flows keep the same names so `load_tables` reads any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.adapters.shared import metaflow_runtime as rt
from loom.domain.errors import UsageError
from loom.domain.pathspec import Pathspec
from loom.domain.wording import with_article

if TYPE_CHECKING:
    import pandas as pd

    from loom.application.config import LoomConfig

#: Artifact names of the data-object contract.
DATA_ARTIFACTS = ("train", "test", "sample_submission", "schema", "fingerprint", "dataset_name", "source")
INGEST_FLOW = "IngestDataset"


@dataclass(frozen=True)
class DatasetTables:
    """The tables and metadata of one data object."""

    train: "pd.DataFrame"
    test: "pd.DataFrame | None"
    sample_submission: "pd.DataFrame | None"
    schema: dict[str, Any]
    fingerprint: str
    pathspec: str
    dataset_name: str | None = None
    source: str | None = None


def load_tables(pathspec: str, config: "LoomConfig") -> DatasetTables:
    """Read a data object's tables through the Client API.

    Unknown pathspec, a run that is not a data object (no `train`/`schema` artifacts), or a
    run that did not finish -> UsageError (exit 2, one line).
    """
    spec = Pathspec.parse(pathspec)
    run = rt.get_run(config, spec)
    with rt.client(config):
        if not run.successful:
            raise UsageError(f"{spec.run} did not finish successfully; ingest again or pick another run")
        data = run.data
        names = {name for name in DATA_ARTIFACTS if data is not None and name in data}
        if not {"train", "schema"} <= names:
            raise UsageError(
                f"{spec.run} is {with_article(spec.flow)} run, not a data object (no train/schema artifacts); "
                "pass an IngestDataset/N pathspec (see `loom datasets`)"
            )
        values = {name: getattr(data, name) if name in names else None for name in DATA_ARTIFACTS}
    return DatasetTables(
        train=values["train"],
        test=values["test"],
        sample_submission=values["sample_submission"],
        schema=dict(values["schema"] or {}),
        fingerprint=str(values["fingerprint"] or ""),
        pathspec=spec.run,
        dataset_name=values["dataset_name"],
        source=values["source"],
    )


def materialize(pathspec: str, dest_dir: str | Path, config: "LoomConfig") -> Path:
    """Write a data object's tables as train.csv [+ test.csv] [+ sample_submission.csv] in dest_dir."""
    tables = load_tables(pathspec, config)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    tables.train.to_csv(dest / "train.csv", index=False)
    if tables.test is not None:
        tables.test.to_csv(dest / "test.csv", index=False)
    if tables.sample_submission is not None:
        tables.sample_submission.to_csv(dest / "sample_submission.csv", index=False)
    return dest
