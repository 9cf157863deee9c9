"""Which files are the user's tables: train / test / sample_submission as .csv, .tsv, .txt or
Parquet, or one of them compressed (train.csv.gz, train.csv.zip, test.tsv.bz2, train.zip holding
train.csv). How a table is written (separator, encoding) is `dialect`'s business.

A compressed table is read through a decompressed copy in a folder of Loom's own (`unpack`); the
copy is what the dialect check, the run and the ingest step then read, and the user's file is left
as it is. A zip archive must hold exactly one table. Stdlib only.

Decompression is streamed under a cap, so a small bomb (52 KB of .bz2 that expands to 1 GiB) is
refused while it is being copied, and its partial copy removed: past `UNPACK_FLOOR` bytes a table
may expand at most `LOOM_UNPACK_MAX_RATIO` times (default 200) its compressed size, and never
beyond `LOOM_UNPACK_MAX_BYTES` (default: 90% of the free disk where the copy goes).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO

STEMS = ("train", "test", "sample_submission")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUFFIXES = TEXT_SUFFIXES + PARQUET_SUFFIXES
#: Compressed forms a table may come in, by how its name ends.
COMPRESSIONS = (".gz", ".bz2", ".xz", ".zip")


#: Below this many unpacked bytes no ratio is checked (small files compress wildly: a column of zeros).
UNPACK_FLOOR = 128 << 20
DEFAULT_MAX_RATIO = 200.0
_CHUNK = 1 << 20


class UnpackError(ValueError):
    """A compressed table that cannot be unpacked: "name: why"."""


@dataclass(frozen=True)
class UnpackLimits:
    """How far one compressed table may expand: `max_ratio` x its size past `floor` bytes, and
    `max_bytes` at most (None: 90% of the free disk at the destination)."""

    max_ratio: float = DEFAULT_MAX_RATIO
    max_bytes: int | None = None
    floor: int = UNPACK_FLOOR

    @classmethod
    def from_env(cls) -> "UnpackLimits":
        """LOOM_UNPACK_MAX_RATIO / LOOM_UNPACK_MAX_BYTES when set (UnpackError when not a number)."""
        ratio, cap = os.environ.get("LOOM_UNPACK_MAX_RATIO"), os.environ.get("LOOM_UNPACK_MAX_BYTES")
        try:
            return cls(max_ratio=float(ratio) if ratio else DEFAULT_MAX_RATIO,
                       max_bytes=int(float(cap)) if cap else None, floor=UNPACK_FLOOR)
        except ValueError:
            raise UnpackError(f"LOOM_UNPACK_MAX_RATIO={ratio!r} / LOOM_UNPACK_MAX_BYTES={cap!r}: "
                              "expected numbers") from None

    def cap(self, packed: int, dest: Path) -> tuple[int, str]:
        """(the most bytes this table may unpack to, which limit that is, in words)."""
        by_ratio = max(self.floor, int(self.max_ratio * max(packed, 1)))
        if self.max_bytes is not None:
            by_size, why = self.max_bytes, f"LOOM_UNPACK_MAX_BYTES={self.max_bytes}"
        else:
            by_size, why = int(shutil.disk_usage(dest).free * 0.9), "90% of the free disk"
        if by_ratio <= by_size:
            return by_ratio, f"{self.max_ratio:g}x its compressed size, LOOM_UNPACK_MAX_RATIO"
        return by_size, why


def compression(path: Path) -> str | None:
    """".gz" / ".bz2" / ".xz" / ".zip" when `path` is named as a compressed file, else None."""
    name = Path(path).name.lower()
    return next((c for c in COMPRESSIONS if name.endswith(c)), None)


def inner_suffix(path: Path) -> str:
    """The table suffix under the compression (".csv" of train.csv.gz); "" when the name has none
    (train.zip: its member says)."""
    path = Path(path)
    kind = compression(path)
    name = path.name[: -len(kind)] if kind else path.name
    return Path(name).suffix.lower()


def table_files(folder: Path) -> dict[str, Path]:
    """{stem: file} of the tables a data dir holds (train.csv before train.tsv before train.parquet,
    then the compressed forms: train.csv.gz, ..., train.zip)."""
    found: dict[str, Path] = {}
    for stem in STEMS:
        plain = [f"{stem}{s}" for s in SUFFIXES]
        packed = [f"{stem}{s}{c}" for c in COMPRESSIONS for s in SUFFIXES]
        for name in [*plain, *packed, f"{stem}.zip"]:
            if (folder / name).is_file():
                found[stem] = folder / name
                break
    return found


def is_table_file(path: Path) -> bool:
    """A file a run or `loom ingest` reads as one table: .csv/.tsv/.txt/.parquet, or one of them compressed."""
    path = Path(path)
    kind = compression(path)
    if kind:
        return inner_suffix(path) in SUFFIXES or (inner_suffix(path) == "" and kind == ".zip")
    return path.suffix.lower() in SUFFIXES


def stem_of(path: Path) -> str:
    """The table's name without its suffixes: train of train.csv, train.csv.gz and train.zip."""
    path = Path(path)
    kind = compression(path)
    name = path.name[: -len(kind)] if kind else path.name
    return Path(name).stem if Path(name).suffix.lower() in SUFFIXES else name


def unpack(path: Path, dest: Path, limits: UnpackLimits | None = None) -> Path:
    """Decompress `path` into `dest` as `<stem>.unpacked<suffix>`; that path. UnpackError with the
    reason when it is not one table (a damaged file, a zip of several files) or expands past
    `limits` (default: UnpackLimits.from_env(); nothing is left in `dest` then)."""
    import bz2
    import gzip
    import lzma
    import zipfile

    limits = limits or UnpackLimits.from_env()
    path = Path(path)
    kind = compression(path)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if kind == ".zip":
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.infolist() if not m.is_dir() and not _hidden(m.filename)]
                if len(members) != 1:
                    raise UnpackError(f"{path.name}: holds {len(members)} files; a compressed table holds one: "
                                      "unzip it and point Loom at the table")
                suffix = inner_suffix(path) or Path(members[0].filename).suffix.lower()
                if suffix not in SUFFIXES:
                    raise UnpackError(f"{path.name}: holds {members[0].filename}, not a .csv, .tsv or .parquet table")
                out = dest / f"{stem_of(path)}.unpacked{suffix}"
                with archive.open(members[0]) as src:
                    _copy_capped(src, out, path, limits)
                return out
        opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[kind or ""]
        out = dest / f"{stem_of(path)}.unpacked{inner_suffix(path) or '.csv'}"
        with opener(path, "rb") as src:
            _copy_capped(src, out, path, limits)
        return out
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError, KeyError) as exc:
        raise UnpackError(f"{path.name}: could not be decompressed ({str(exc) or type(exc).__name__})") from None


def _copy_capped(src: IO[bytes], out: Path, path: Path, limits: UnpackLimits) -> None:
    """Stream `src` into `out`, refusing (and removing `out`) once it passes the cap."""
    cap, why = limits.cap(path.stat().st_size, out.parent)
    written = 0
    try:
        with out.open("wb") as dst:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > cap:
                    raise UnpackError(
                        f"{path.name}: expands to more than {_size(cap)} from {_size(path.stat().st_size)} "
                        f"(the limit is {why}); refused as a possible decompression bomb. If the table "
                        f"is real, decompress it yourself or raise LOOM_UNPACK_MAX_RATIO / LOOM_UNPACK_MAX_BYTES")
                dst.write(chunk)
    except BaseException:
        out.unlink(missing_ok=True)  # never leave a partial copy behind (a refusal, a full disk, Ctrl-C)
        raise


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def _hidden(name: str) -> bool:
    """macOS and editors add these to archives: __MACOSX/, .DS_Store."""
    return name.startswith("__MACOSX/") or Path(name).name.startswith(".")
