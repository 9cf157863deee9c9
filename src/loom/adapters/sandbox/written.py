"""Reading what a candidate wrote, without following what it planted.

A candidate controls its folder: `working/submission.csv` may be a symlink to the sealed labels
(`LOOM_HOME/sealed/<run>/selection.csv`, found through /proc/self/mountinfo), to
/proc/self/environ (read by Loom, that is Loom's environment), or a FIFO that blocks whoever opens
it. Whatever reads those files runs outside the sandbox, so it opens each path component with
O_NOFOLLOW from the folder Loom made, and takes only a regular file. `strip` removes every symlink
and special file from a folder before Loom keeps it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def read_regular(folder: Path, rel: str) -> bytes | None:
    """The bytes of `folder/rel` when every component below `folder` is a real directory and the
    last one a regular file; None otherwise (missing, a symlink anywhere, a FIFO, a device)."""
    parts = Path(rel).parts
    if not parts or any(p in ("..", "/") for p in parts):
        return None
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        for part in parts[:-1]:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
        leaf = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    with os.fdopen(leaf, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        return handle.read()


def strip(folder: Path) -> None:
    """Remove every symlink and special file (FIFO, socket, device) under `folder`, without
    following any (os.walk does not descend into a linked folder). Regular files and folders stay."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            try:
                if not (stat.S_ISDIR(mode := os.lstat(path).st_mode) or stat.S_ISREG(mode)):
                    os.unlink(path)
            except OSError:
                continue
