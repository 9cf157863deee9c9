"""`loom ingest`: data -> a versioned data object."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, container_for, effective, emit, load_config


def ingest(
    *,
    source: Annotated[Path, Parameter(help="A data dir (train.csv [+ test.csv] [+ sample_submission.csv]) or one CSV/Parquet file.")],
    name: Annotated[str | None, Parameter(help="A name for the dataset (default: the source's name).")] = None,
    target: Annotated[str | None, Parameter(help="Target column (inferred when omitted).")] = None,
    time_column: Annotated[str | None, Parameter(help="Split a single file by this column's time: the latest rows become test "
                                                      "(default: a detected date column; 'none': a seeded random split). "
                                                      "Not with a data dir, which keeps its own split.")] = None,
    mlops: Annotated[str | None, Parameter(help="MLOps provider (LOOM_MLOPS_PROVIDER); data objects need metaflow.")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Turn a data dir or a CSV/Parquet file into a versioned data object (IngestDataset/N).

    A data dir keeps its train/test/sample_submission tables; a single file is split into
    train/test (test share 0.2, the target column moved to test_labels): the latest rows when it
    has a date column (or --time-column), else seeded by LOOM_SEED. `loom run --data FILE.csv`
    splits a file the same way.
    The run stores the tables, a schema (columns, dtypes, rows, target, id columns, task type)
    and a sha256 content fingerprint, and prints the pathspec `IngestDataset/<id>`.
    """
    if time_column and time_column.strip().lower() != "none" and source.expanduser().is_dir():
        from loom.domain.errors import UsageError

        raise UsageError(f"--time-column splits one file into train/test, and {source} has its own train/test "
                         "split: drop it (`loom run --time-column C` seals a run's latest rows by C)")
    config = load_config(common, mlops_provider=mlops)
    use_case = container_for(config).ingest()
    if effective(common).json:
        info = use_case(source, name=name, target=target, time_column=time_column)
    else:
        from loom.entrypoints.cli.common import console
        from loom.entrypoints.cli.safe_text import safe

        err = console(stderr=True)
        with err.status(f"ingesting {safe(source)} ...") as status:
            info = use_case(source, name=name, target=target, time_column=time_column,
                            on_progress=lambda msg: status.update(f"ingesting: {safe(msg)}"))

    def human(out) -> None:  # type: ignore[no-untyped-def]
        from loom.entrypoints.cli.safe_text import safe

        rows = ", ".join(f"{k} {v:,}" for k, v in info.rows.items())
        out.print(f"[bold]{safe(info.pathspec)}[/bold]  {safe(info.name)}: {safe(rows)} rows, {info.columns} columns, "
                  f"target {safe(info.target)} ({safe(info.task_type)}), fingerprint {safe(info.fingerprint[:12])}")
        for note in info.read_as:
            out.print(f"  {safe(note)}")

    emit(common, {"status": "OK", **_asdict(info)}, human)
    return 0


def _asdict(obj: object) -> dict:
    from dataclasses import asdict

    return asdict(obj)  # type: ignore[call-overload]
