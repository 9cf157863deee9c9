"""Which files are the user's tables: train / test / sample_submission as .csv, .tsv, .txt or
Parquet, or one of them compressed (train.csv.gz, train.csv.zip, test.tsv.bz2, train.zip holding
train.csv). How a table is written (separator, encoding) is `dialect`'s business.

A compressed table is read through a decompressed copy in a folder of Loom's own (`unpack`); the
copy is what the dialect check, the run and the ingest step then read, and the user's file is left
as it is. A zip archive must hold exactly one table. Stdlib only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

STEMS = ("train", "test", "sample_submission")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUFFIXES = TEXT_SUFFIXES + PARQUET_SUFFIXES
#: Compressed forms a table may come in, by how its name ends.
COMPRESSIONS = (".gz", ".bz2", ".xz", ".zip")


class UnpackError(ValueError):
    """A compressed table that cannot be unpacked: "name: why"."""


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


def unpack(path: Path, dest: Path) -> Path:
    """Decompress `path` into `dest` as `<stem>.unpacked<suffix>`; that path. UnpackError with the
    reason when it is not one table (a damaged file, a zip of several files)."""
    import bz2
    import gzip
    import lzma
    import zipfile

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
                with archive.open(members[0]) as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 4 << 20)
                return out
        opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[kind or ""]
        out = dest / f"{stem_of(path)}.unpacked{inner_suffix(path) or '.csv'}"
        with opener(path, "rb") as src, out.open("wb") as dst:
            shutil.copyfileobj(src, dst, 4 << 20)
        return out
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError, KeyError) as exc:
        raise UnpackError(f"{path.name}: could not be decompressed ({str(exc) or type(exc).__name__})") from None


def _hidden(name: str) -> bool:
    """macOS and editors add these to archives: __MACOSX/, .DS_Store."""
    return name.startswith("__MACOSX/") or Path(name).name.startswith(".")
