"""Resolve `--solution REF` to code: a candidate run's `code` artifact, a search run's
best_solution.py (LOOM_HOME/runs/<id>/), or a .py file. The code is kept under
LOOM_HOME/lifecycle/solutions/<sha>.py so the flow that runs it reads a stable file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from loom.adapters.shared import metaflow_runtime as rt
from loom.domain.errors import UsageError
from loom.domain.pathspec import Pathspec

if TYPE_CHECKING:
    from loom.application.config import LoomConfig

CODE_ARTIFACTS = ("code", "solution_code")


def resolve(ref: str, config: "LoomConfig") -> tuple[str, str]:
    """(label, code) for a solution reference; UsageError (one line) when it is none of them."""
    path = Path(ref).expanduser()
    if path.suffix == ".py" and path.is_file():
        return str(path.resolve()), path.read_text()
    from loom.application.run_search.artifacts import is_run_id

    best = config.home / "runs" / ref / "best_solution.py"
    if is_run_id(ref) and best.is_file():
        return ref, best.read_text()
    if Pathspec.is_valid(ref):
        found = rt.read_artifacts(Pathspec.parse(ref).run, CODE_ARTIFACTS, config)
        code = next((found[n] for n in CODE_ARTIFACTS if found.get(n)), None)
        if code:
            return Pathspec.parse(ref).run, str(code)
        raise UsageError(f"{ref} has no `code` artifact; pass a candidate run, a search run id or a .py file")
    raise UsageError(
        f"solution '{ref}' not found: not a .py file, not a search run under {config.home / 'runs'}, not a pathspec"
    )


def run_task(ref: str, config: "LoomConfig") -> dict:
    """The task a search run `ref` searched (its manifest's `task`: metric, positive class, ...);
    {} for anything else (a .py file, a candidate run)."""
    import json

    from loom.application.run_search.artifacts import is_run_id

    manifest = config.home / "runs" / ref / "manifest.json"
    if not is_run_id(ref) or not manifest.is_file():
        return {}
    try:
        task = json.loads(manifest.read_text(encoding="utf-8")).get("task")
    except (OSError, ValueError):
        return {}
    return task if isinstance(task, dict) else {}


def stage(code: str, config: "LoomConfig") -> Path:
    digest = hashlib.sha256(code.encode()).hexdigest()[:16]
    out = config.home / "lifecycle" / "solutions" / f"{digest}.py"
    out.parent.mkdir(parents=True, exist_ok=True)
    if not out.exists():
        out.write_text(code)
    return out
