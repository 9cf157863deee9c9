"""Staged candidate input: the task's ./input plus files earlier candidates wrote, read-only.

A candidate sees only its own folder, so whatever one candidate needs from another (an ensemble
needs its members' out-of-fold predictions) flows through Loom: the brain names the files by
node id (`attach`), the session copies them into a per-candidate input folder next to the task
input (hard links for the task's own files), and that folder is the candidate's ./input. The
executor contract is unchanged: ExecRequest.input_dir is still "the prepared candidate input".

Files come from other untrusted candidates, so only regular files inside that node's kept
./working are taken (no symlink, no path leaving the folder), up to MAX_ATTACH_BYTES in all.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath

MAX_ATTACH_BYTES = 2 * 1024**3


class AttachError(ValueError):
    """An attach request Loom refuses (a bad name; never raised for a missing file)."""


def _safe_name(name: str) -> PurePosixPath:
    rel = PurePosixPath(name)
    if rel.is_absolute() or not rel.parts or any(p in ("..", ".", "") for p in rel.parts):
        raise AttachError(f"attach name {name!r} must be a relative path inside ./input")
    return rel


def _source(outputs: Path, rel: str) -> Path | None:
    """`rel` inside `outputs` as a regular, non-symlinked file; None when it is not one."""
    root = outputs.resolve()
    path = outputs
    for part in _safe_name(rel).parts:
        path = path / part
        if path.is_symlink():
            return None
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return None
    return path if path.is_file() else None


def _link_or_copy(src: Path, dest: Path) -> None:
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def stage_input(task_input: Path, dest: Path, attach: Mapping[str, tuple[str, str]],
                outputs_of: Callable[[str], Path | None]) -> Path:
    """Build `dest`: the task input plus each attached file that exists ({name: (node id, file)}).

    A file that an earlier candidate did not write is left out (the candidate sees what exists).
    """
    names = {name: _safe_name(name) for name in attach}
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for src in task_input.rglob("*"):
        target = dest / src.relative_to(task_input)
        if src.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif src.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(src, target)
    budget = MAX_ATTACH_BYTES
    for name, (node_id, rel) in attach.items():
        outputs = outputs_of(node_id)
        found = _source(outputs, rel) if outputs is not None else None
        if found is None:
            continue
        size = found.stat().st_size
        if size > budget:
            continue
        budget -= size
        target = dest.joinpath(*names[name].parts)
        if target.exists():
            raise AttachError(f"attach name {name!r} collides with a task input file")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found, target)
    return dest


def remove(stage: Path) -> None:
    shutil.rmtree(stage, ignore_errors=True)
