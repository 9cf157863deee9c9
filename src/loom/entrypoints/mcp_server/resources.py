"""loom:// resources: what a run left behind, and the schema of a data object.

    loom://runs/{run_id}/leaderboard     application/json  leaderboard.json (ranked by selection score)
    loom://runs/{run_id}/best_solution   text/x-python     best_solution.py
    loom://runs/{run_id}/summary         application/json  status, task, best, nodes, usage (from the journal)
    loom://runs/{run_id}/card            text/html         tree.html (the run's search tree)
    loom://datasets/{flow}/{run}/schema  application/json  a data object's schema (IngestDataset/N, FeaturesFlow/N)

Run ids and pathspec parts are checked before any path is built; files are read under
LOOM_HOME/runs only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.entrypoints.mcp_server.jobs import check_run_id

if TYPE_CHECKING:
    from loom.application.config import LoomConfig

RUN_FILES = {
    "leaderboard": ("leaderboard.json", "application/json", "The run's leaderboard, best first (ranked by the selection-slice score)."),
    "best_solution": ("best_solution.py", "text/x-python", "The best candidate's code."),
    "summary": ("journal.json", "application/json", "Status, task, best candidate, node count and usage."),
    "card": ("tree.html", "text/html", "The run's search tree as one HTML page."),
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


def _not_found(message: str) -> Exception:
    from mcp.server.mcpserver.exceptions import ResourceNotFoundError

    return ResourceNotFoundError(message)


def run_file(home: Path, run_id: str, kind: str) -> Path:
    from loom.domain.errors import UsageError

    try:
        path = home / "runs" / check_run_id(run_id) / RUN_FILES[kind][0]
    except UsageError as err:
        raise _not_found(err.message) from None
    if not path.is_file():
        raise _not_found(f"run {run_id} has no {RUN_FILES[kind][0]} (yet) under {home / 'runs'}")
    return path


def run_summary(home: Path, run_id: str) -> str:
    journal = json.loads(run_file(home, run_id, "summary").read_text(encoding="utf-8"))
    nodes = journal.get("nodes") or []
    board_path = home / "runs" / run_id / "leaderboard.json"
    board = json.loads(board_path.read_text(encoding="utf-8")) if board_path.is_file() else None
    rows = board.get("entries") if isinstance(board, dict) else None
    task = journal.get("task") or {}
    summary = {
        "run_id": run_id, "status": journal.get("status"), "created": journal.get("created"),
        "updated": journal.get("updated"), "search": journal.get("search"), "mlops": journal.get("mlops"),
        "experiment_id": journal.get("experiment_id"),
        "goal": task.get("goal"), "metric": task.get("metric"), "target": task.get("target"),
        "nodes": len(nodes), "buggy_nodes": sum(1 for n in nodes if n.get("buggy")),
        "best": rows[0] if rows else None, "usage": journal.get("usage"),
        "resources": {kind: f"loom://runs/{run_id}/{kind}" for kind in RUN_FILES},
    }
    return json.dumps(summary, indent=1, default=str)


def dataset_schema(config: "LoomConfig", flow: str, run: str) -> str:
    """A data object's schema, fingerprint and name, through the MLOps adapter (metaflow)."""
    if not _NAME.match(flow) or not _ID.match(run):
        raise _not_found(f"'{flow}/{run}' is not a pathspec like IngestDataset/12")
    from loom.entrypoints.cli.common import container_for

    mlops = container_for(config).mlops()
    load = getattr(mlops, "load_tables", None)
    if load is None:
        raise _not_found(f"data objects live in Metaflow; the '{config.mlops_provider}' MLOps provider has none "
                         "(serve with LOOM_MLOPS_PROVIDER=metaflow)")
    tables = load(f"{flow}/{run}")
    return json.dumps({"pathspec": tables.pathspec, "name": tables.dataset_name, "fingerprint": tables.fingerprint,
                       "source": tables.source, "schema": tables.schema}, indent=1, default=str)


def register(server: Any, config: "LoomConfig") -> None:
    """Add the loom:// resource templates to an MCPServer."""
    home = Path(config.home)

    def add_run_file(kind: str) -> None:
        filename, mime, description = RUN_FILES[kind]

        def read(run_id: str) -> str:
            if kind == "summary":
                return run_summary(home, run_id)
            return run_file(home, run_id, kind).read_text(encoding="utf-8")

        read.__name__ = f"run_{kind}"
        server.resource(f"loom://runs/{{run_id}}/{kind}", name=f"run_{kind}", title=f"Run {kind.replace('_', ' ')}",
                        description=description, mime_type=mime)(read)

    for kind in RUN_FILES:
        add_run_file(kind)

    def schema(flow: str, run: str) -> str:
        return dataset_schema(config, flow, run)

    server.resource("loom://datasets/{flow}/{run}/schema", name="dataset_schema", title="Data object schema",
                    description="Columns, dtypes, rows, target, id columns and task type of a data object.",
                    mime_type="application/json")(schema)


def recent_runs(home: Path, limit: int = 10) -> list[str]:
    """The newest run ids under LOOM_HOME/runs (each has a journal)."""
    root = Path(home) / "runs"
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if (p / "journal.json").is_file()]
    runs.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [p.name for p in runs[:limit]]
