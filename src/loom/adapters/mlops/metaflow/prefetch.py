"""Parsing an ingest's CSV while Metaflow starts: the caller reads, the step takes the Arrow table.

`loom ingest` spends about half a second before its start step runs any of its own code (the
flow runtime and the step each start an interpreter and import Metaflow). The caller's process
is idle then, and the step always runs on this machine (IngestDataset runs with no `--with`), so
`start` parses each plain UTF-8 CSV/TSV of the source on a thread of the caller with exactly the
reader `tabular_arrow.read` uses, and writes the table as an Arrow IPC file into a private folder
(/dev/shm when there is one). The step's `take` memory-maps that file instead of parsing again;
what follows (types, split, fingerprint, encoding, artifacts, card) is unchanged, so the data
object is the same bytes either way.

A file is keyed by its real path, size, modification time and inode and by the reader's options:
a file changed in between, a table read through a plain copy (';', cp1252: `dialect`), or a
second read with text columns all miss and are parsed by the step as before. While the caller is
still parsing, the step waits for it (a `.pending` marker naming the caller's pid) rather than
parse the same bytes twice on the same cores; a caller that died is not waited for.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

#: The folder of this step's prefetched tables (set by the step: `use`); None = parse every table.
DIRECTORY: Path | None = None
TAKEN: set[str] = set()  # the paths `take` served (the step says so in its progress line)
VERSION = "1"  # bump with any change to the reader's options (tabular_arrow.csv_options)
WAIT_LIMIT = 120.0  # seconds a step waits for a live caller still parsing


def key(path: Path, text: Iterable[str] = ()) -> str:
    st = os.stat(path)
    parts = [VERSION, os.path.realpath(path), str(st.st_size), str(st.st_mtime_ns), str(st.st_ino), *sorted(text)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


class Prefetch:
    """The caller's side: parsing the given files on one thread; `close()` removes the folder."""

    def __init__(self, files: list[Path]) -> None:
        shm = Path("/dev/shm")
        base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
        self.directory = Path(tempfile.mkdtemp(prefix="loom-prefetch-", dir=base))
        self.files = files
        for path in files:  # marked before the flow starts: the step waits rather than parse in parallel
            (self.directory / f"{key(path)}.pending").write_text(str(os.getpid()))
        self.thread = threading.Thread(target=self._run, name="loom-prefetch", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for path in self.files:
            name = key(path)
            pending = self.directory / f"{name}.pending"
            try:
                import pyarrow as pa
                import pyarrow.csv as pcsv
                import pyarrow.ipc as ipc

                from loom.adapters.mlops.metaflow.tabular_arrow import csv_options

                table = pcsv.read_csv(path, **csv_options(path, ()))
                part = self.directory / f"{name}.arrow.part"
                with pa.OSFile(str(part), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
                    writer.write_table(table)
                part.rename(self.directory / f"{name}.arrow")
            except Exception:  # noqa: BLE001 - whatever failed, the step reads the file itself (and says why)
                pass
            finally:
                pending.unlink(missing_ok=True)

    def close(self) -> None:
        """Remove the folder (a parse still running finds it gone and stops at its write)."""
        shutil.rmtree(self.directory, ignore_errors=True)


def start(files: Iterable[Path]) -> Prefetch | None:
    """Prefetch the plain UTF-8 CSV/TSV tables among `files` (None when there is none)."""
    from loom.application import dialect

    plain = []
    for path in files:
        if path.suffix.lower() not in (".csv", ".tsv"):
            continue
        try:
            found = dialect.detect(path, whole=False)
        except Exception:  # noqa: BLE001 - the step says what is wrong with it
            continue
        usual = "\t" if path.suffix.lower() == ".tsv" else ","
        if found.kind != "parquet" and found.encoding == "utf-8" and found.sep == usual and not found.thousands:
            plain.append(path)
    return Prefetch(plain) if plain else None


def use(directory: str | None) -> None:
    """In the step: take tables from `directory` (the flow's `prefetch` parameter; empty = none)."""
    global DIRECTORY
    DIRECTORY = Path(directory) if directory else None


def take(path: Path, text: Iterable[str] = ()) -> "pa.Table | None":
    """The caller's parse of `path`, read as `tabular_arrow.read` would; None: parse it here."""
    if DIRECTORY is None:
        return None
    try:
        name = key(path, text)
    except OSError:
        return None
    pending, ready = DIRECTORY / f"{name}.pending", DIRECTORY / f"{name}.arrow"
    waited = time.monotonic()
    while pending.exists() and time.monotonic() - waited < WAIT_LIMIT:
        if not _alive(pending):
            return None
        time.sleep(0.003)
    if not ready.is_file():
        return None
    import pyarrow as pa
    import pyarrow.ipc as ipc

    try:
        with pa.memory_map(str(ready)) as source:
            table = ipc.open_file(source).read_all()
    except (OSError, pa.ArrowInvalid):
        return None
    TAKEN.add(str(path))
    return table


def _alive(pending: Path) -> bool:
    try:
        os.kill(int(pending.read_text() or "0"), 0)
        return True
    except (OSError, ValueError):
        return False

