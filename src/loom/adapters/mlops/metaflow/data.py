"""The data side of MetaflowMLOps: ingest, list datasets and runs, show a run, find its card."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.adapters.mlops.metaflow import datasets as ds
from loom.adapters.shared import metaflow_runtime as rt
from loom.adapters.shared.metaflow_card_files import card_files
from loom.application.ports.mlops import DatasetInfo, RunDetail, RunInfo
from loom.domain.errors import UsageError
from loom.domain.pathspec import Pathspec

if TYPE_CHECKING:
    from loom.application.config import LoomConfig

INGEST_FLOW_FILE = Path(__file__).resolve().parent / "flows" / "ingest_dataset.py"
#: Flows whose runs are data objects (they store the artifacts of datasets.DATA_ARTIFACTS).
DATA_FLOWS = ("IngestDataset", "FeaturesFlow")
#: Flows Loom itself defines: before their first run `loom runs --flow NAME` is an empty list, not an error.
LOOM_FLOWS = frozenset({
    "IngestDataset", "CandidateRun", "CandidateInput", "LoomPipeline", "EdaFlow", "FeaturesFlow",
    "ValidateFlow", "ReportFlow", "OpsFlow", "DeployFlow", "BatchScoreFlow", "TrainBackbone",
})
_PROGRESS = re.compile(r"loom-progress:\s*(.*)$")
_SMALL = 64 * 1024  # artifacts below this size are loaded to describe them in `show`


class MetaflowDataMixin:
    """DataStore protocol over Metaflow runs and the Client API; needs `self.config`."""

    config: "LoomConfig"

    def ingest(
        self,
        source: Path,
        *,
        name: str | None = None,
        target: str | None = None,
        on_progress: Callable[[str], None] | None = None,
        time_column: str | None = None,
    ) -> DatasetInfo:
        from loom.adapters.mlops.metaflow import prefetch
        from loom.adapters.mlops.metaflow import tabular as tb

        try:  # a cheap sniff (stdlib: no pandas in this process) so plain garbage is one line before any flow
            tables = list(tb.find_tables(Path(source)).values())
            for path in tables:
                tb.sniff(path)
        except tb.LoomInputError as err:
            raise UsageError(str(err)) from None

        def on_line(line: str) -> None:
            m = _PROGRESS.search(line)
            if m and on_progress is not None:
                on_progress(m.group(1))

        params = {"source": str(Path(source).resolve()), "dataset": name, "target": target, "seed": self.config.seed,
                  "time-column": time_column}
        tags = [f"tenant:{self.config.tenant}", f"owned_by:{self.config.owned_by}"]
        parsing = prefetch.start(tables)  # the CSVs parsed here while Metaflow starts the flow (local steps)
        try:
            if parsing is not None:
                params["prefetch"] = str(parsing.directory)
            pathspec = rt.run_flow(INGEST_FLOW_FILE, params, self.config, tags=tags, on_line=on_line)
        finally:
            if parsing is not None:
                parsing.close()
        return self._dataset_info(rt.get_run(self.config, pathspec))

    def materialize(self, pathspec: str, dest_dir: Path) -> Path:
        """Write the data object's tables as train.csv [+ test.csv] [+ sample_submission.csv]."""
        return ds.materialize(pathspec, dest_dir, self.config)

    def load_tables(self, pathspec: str) -> ds.DatasetTables:
        return ds.load_tables(pathspec, self.config)

    # ---- read-only views ---------------------------------------------------------------
    def list_datasets(self, limit: int = 50) -> list[DatasetInfo]:
        out: list[DatasetInfo] = []
        with rt.client(self.config) as mf:
            for flow in DATA_FLOWS:
                try:
                    runs = list(mf.Flow(flow).runs())
                except mf.exception.MetaflowNotFound:
                    continue
                kept = 0
                for run in runs:
                    if kept >= limit:
                        break
                    if run.successful:
                        out.append(self._dataset_info(run))
                        kept += 1
        out.sort(key=lambda d: d.created_at or "", reverse=True)
        return out[:limit]

    def list_runs(self, flow: str | None = None, limit: int = 50) -> list[RunInfo]:
        out: list[RunInfo] = []
        with rt.client(self.config) as mf:
            if flow:
                try:
                    flows = [mf.Flow(flow)]
                except mf.exception.MetaflowNotFound:
                    if flow in LOOM_FLOWS:
                        return []
                    raise UsageError(f"no runs of flow '{flow}'; `loom runs` lists every flow") from None
            else:
                flows = list(mf.Metaflow().flows)
            for f in flows:
                for run in list(f.runs())[:limit]:
                    out.append(_run_info(run))
        out.sort(key=lambda r: r.created_at or "", reverse=True)
        return out[:limit]

    def show(self, pathspec: str) -> RunDetail:
        run = rt.get_run(self.config, pathspec)
        with rt.client(self.config):
            steps = tuple(reversed([s.id for s in run.steps()]))
            task = run.end_task if run.finished else None
            if task is None:
                last = next(iter(run.steps()), None)
                task = next(iter(last.tasks()), None) if last is not None else None
            artifacts: dict[str, str] = {}
            values: dict[str, Any] = {}
            if task is not None:
                for art in task.artifacts:
                    if not art.id.startswith("_") and art.id != "name":
                        artifacts[art.id], values[art.id] = _describe(art)
            info = _run_info(run)
        cards = tuple(self.card(pathspec)) if run.finished else ()
        return RunDetail(run=info, steps=steps, artifacts=dict(sorted(artifacts.items())), cards=cards,
                         values=dict(sorted(values.items())))

    def card(self, pathspec: str) -> list[Path]:
        return card_files(self.config, pathspec)

    # ---- helpers -------------------------------------------------------------------------
    def _dataset_info(self, run: Any) -> DatasetInfo:
        with rt.client(self.config):
            data = run.data
            found = {n: getattr(data, n) for n in ("schema", "dataset_name", "fingerprint", "source", "read_as")
                     if n in data}
            return _dataset_info_of(run, found)


def _dataset_info_of(run: Any, data: dict[str, Any]) -> DatasetInfo:
    schema = dict(data.get("schema") or {})
    rows = dict(schema.get("rows") or {})
    return DatasetInfo(
        pathspec=run.pathspec,
        name=data.get("dataset_name"),
        rows={k: int(v) for k, v in rows.items()},
        columns=len(schema.get("columns") or []),
        target=schema.get("target"),
        task_type=schema.get("task_type"),
        fingerprint=str(data["fingerprint"]) if data.get("fingerprint") is not None else "",
        created_at=_iso(run.created_at),
        source=str(data["source"]) if data.get("source") is not None else None,
        read_as=tuple(str(n) for n in data.get("read_as") or ()),
    )


def _run_info(run: Any) -> RunInfo:
    spec = Pathspec.parse(run.pathspec)
    finished = bool(run.finished)
    return RunInfo(
        pathspec=run.pathspec, flow=spec.flow, created_at=_iso(run.created_at), finished=finished,
        successful=bool(run.successful) if finished else False, tags=tuple(sorted(run.user_tags)),
    )


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else str(value)


def _describe(art: Any) -> tuple[str, Any]:
    """(a short description for people, the value as JSON)."""
    from loom.adapters.mlops.metaflow.artifact_json import to_json

    size = getattr(art, "size", None)
    try:
        value = art.data
    except Exception as exc:  # noqa: BLE001 - an artifact that cannot be unpickled here
        return f"<unreadable: {type(exc).__name__}>", {"type": "unreadable", "error": type(exc).__name__}
    shape = getattr(value, "shape", None)
    if shape is not None:
        text = f"{type(value).__name__} {' x '.join(str(n) for n in shape)}"
    elif size is not None and size > _SMALL:
        text = f"{size / 1e6:,.1f} MB"
    else:
        text = repr(value)
        text = text if len(text) <= 100 else text[:97] + "..."
    return text, to_json(value)
