"""The user's tables as Loom reads them: UTF-8, comma-separated CSV; anything else is copied so once.

Task preparation, the candidates and the grader all read UTF-8 CSV with commas. A data scientist's
files are often written otherwise: ';'-separated with decimal commas (a European spreadsheet's
export), tab-separated, cp1252 / Latin-1 text, or Parquet. `normalize` finds how each table is
written and, when one is not plain, writes every table of the source once as UTF-8 comma CSV
into a folder of the run (under its sealed dir: the copy holds every label). Every value stays
the text it was ("007" stays "007"); only a column of numbers written with decimal commas
("1.234,5") is rewritten with a point ("1234.5"), since no reader would take it for a number
otherwise, and a row of separators only (",,,,": a spreadsheet's blank row, which pandas reads as
a row of NaN and Loom would take for a test row without an id) is left out. Each table read otherwise gets one note, shown with the run's warnings. `loom ingest`
uses `plain_text` per table (Parquet stays Parquet there). Stdlib at import: the ingest step imports
it for every table, and pyarrow only loads when a table needs copying.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from loom.application import numbers_written
from loom.application.table_files import (  # noqa: F401 - which files are tables: callers ask dialect
    PARQUET_SUFFIXES, STEMS, SUFFIXES, TEXT_SUFFIXES, UnpackError, compression, is_table_file, stem_of, table_files,
    unpack,
)

if TYPE_CHECKING:
    import pyarrow as pa

_SEPARATORS = (",", ";", "\t", "|")
_SAMPLE = 256 << 10
_SEP_SAMPLE = 64 << 10  # characters the separator is judged on (the csv module parses them per separator)
_CHUNK = 4 << 20
#: a quoted number with thousands separators, as a spreadsheet exports a formatted one: "1,234,567.5"
_QUOTED_THOUSANDS = re.compile(r'(^|,)"[+-]?\d{1,3}(,\d{3})+(\.\d+)?"(,|\r?$)', re.M)
_HANDED = "; the candidates get it as UTF-8 comma-separated CSV"


class DialectError(ValueError):
    """A table that cannot be read at all (callers turn it into their own one-line error)."""


@dataclass(frozen=True)
class Dialect:
    """How one table file is written."""

    kind: str = "csv"  # csv | parquet
    sep: str = ","
    encoding: str = "utf-8"
    blank_rows: bool = False  # rows of separators only (found by `normalize`, which reads the whole file)
    thousands: bool = False  # a comma-separated table quoting "1,234" in its first 256 KB (`numbers_written`)

    @property
    def plain(self) -> bool:
        return (self.kind == "csv" and self.sep == "," and self.encoding == "utf-8" and not self.blank_rows
                and not self.thousands)

    def describe(self) -> str:
        if self.kind == "parquet":
            return "Parquet"
        sep = {"\t": "tab", ",": "comma"}.get(self.sep, f"'{self.sep}'")
        return f"{sep}-separated" + ("" if self.encoding == "utf-8" else f", {self.encoding} text")


@dataclass
class Source:
    """What `normalize` hands on: `path` (the user's own when it was plain), notes, the user's files."""

    path: Path
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def _unpacked(path: Path, dest: Path) -> tuple[Path, str | None]:
    """A compressed table decompressed into `dest` (`table_files.unpack`), with the note saying so;
    any other table as it is, without a note."""
    if not compression(path):
        return path, None
    try:
        out = unpack(path, dest)
    except UnpackError as exc:
        raise DialectError(str(exc)) from None
    return out, f"{path.name} was decompressed"


def _bom(head: bytes) -> str | None:
    """UTF-16 text by its byte-order mark (what Excel's "Unicode Text" export writes)."""
    return "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else None


def encoding_of(path: Path) -> str:
    """utf-16 by its BOM; utf-8 when the whole file decodes so (a BOM is fine), else cp1252, else
    latin-1 (never fails)."""
    with Path(path).open("rb") as handle:
        marked = _bom(handle.read(2))
    return marked or _decoding(lambda: _chunks(path), final=True)


def _chunks(path: Path) -> Iterator[bytes]:
    with Path(path).open("rb") as handle:
        yield from iter(lambda: handle.read(_CHUNK), b"")


def _decoding(chunks: Callable[[], Iterable[bytes]], *, final: bool) -> str:
    """utf-8 when `chunks` decode so, else cp1252, else latin-1 (which decodes any byte). Not `final`:
    a character cut at the end waits for bytes that never come, and is fine."""
    for name in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(name)()
        try:
            for chunk in chunks():
                decoder.decode(chunk)
            if final:
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return "utf-8" if name == "utf-8-sig" else name
    return "latin-1"


def separator_of(text: str) -> str:
    """The delimiter that splits the sample's rows into the same number (> 1) of fields, the comma
    first; a comma when none does (a one-column file)."""
    lines = text.splitlines(keepends=True)
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample cut the last row
    best, width = ",", 1
    for sep in _SEPARATORS:
        try:
            rows = [r for r in csv.reader(io.StringIO("".join(lines)), delimiter=sep) if r]
        except csv.Error:
            continue
        if not rows:
            continue
        widths = {len(r) for r in rows[:-1]} if len(rows) > 1 else {len(rows[0])}
        if len(widths) == 1 and len(rows[0]) > 1 and len(rows[0]) in widths:
            if sep == ",":
                return sep
            if len(rows[0]) > width:
                best, width = sep, len(rows[0])
    return best


def detect(path: Path, *, whole: bool = True) -> Dialect:
    """How `path` is written; `whole=False` judges the encoding from its first 256 KB only (cheap; a
    reader then finds a later byte that is not UTF-8, and the caller detects again whole)."""
    path = Path(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return Dialect(kind="parquet")
    try:
        with path.open("rb") as handle:
            head = handle.read(_SAMPLE)
    except OSError as exc:
        raise DialectError(f"{path.name}: {exc.strerror or exc}") from None
    if _bom(head) is None and (b"\x00" in head or head.startswith((b"\x1f\x8b", b"PK\x03\x04"))):
        what = ("a gzip file: gunzip it first" if head.startswith(b"\x1f\x8b") else
                "a zip archive: unzip it first" if head.startswith(b"PK") else "it holds binary bytes")
        raise DialectError(f"{path.name}: not a text table ({what})")
    encoding = _bom(head) or (encoding_of(path) if whole else _decoding(lambda: [head], final=False))
    text = head.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="ignore")
    sep = "\t" if path.suffix.lower() == ".tsv" and "\t" in text.split("\n", 1)[0] else separator_of(text[:_SEP_SAMPLE])
    return Dialect(sep=sep, encoding=encoding, thousands=sep == "," and bool(_QUOTED_THOUSANDS.search(text)))


def has_blank_rows(path: Path, dialect: Dialect) -> bool:
    """Whether a UTF-8 text table holds a row of its separator only, as many as its header has
    columns less one (",,,,": what a spreadsheet writes for a blank row). A byte search, no parsing:
    about 0.1 s on 77 MB. Tables in other encodings are copied anyway (`_convert` drops such rows)."""
    if dialect.kind != "csv" or dialect.encoding != "utf-8":
        return False
    with Path(path).open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        width = len(next(csv.reader(handle, delimiter=dialect.sep), []))
    if width < 2:
        return False
    needle = b"\n" + dialect.sep.encode() * (width - 1)
    carry = b""
    for chunk in [*_chunks(path), b"\n"]:  # the last row may lack its line end
        data = carry + chunk
        at = data.find(needle)
        while at >= 0 and at + len(needle) < len(data):
            if data[at + len(needle)] in b"\r\n":
                return True
            at = data.find(needle, at + 1)
        carry = data[-len(needle):]
    return False


def plain_text(path: Path, dest: Path, *, whole: bool = True) -> tuple[Path, str | None]:
    """A text table as a UTF-8 CSV reader takes it (comma-separated, or tab for a .tsv): `path` itself,
    or its plain copy in `dest` and the note saying how it was read. Parquet stays as it is. A
    compressed table is decompressed into `dest` first (and said so)."""
    user = Path(path)
    path, unpacked = _unpacked(user, dest)
    found = detect(path, whole=whole)
    usual = "\t" if path.suffix.lower() == ".tsv" else ","
    if found.kind == "parquet" or (found.encoding == "utf-8" and found.sep == usual and not found.thousands):
        if not unpacked:
            return path, None
        kept = path.with_name(stem_of(user) + path.suffix)
        return path.replace(kept), unpacked
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / f"{stem_of(user)}.csv"
    return out, _copied(user, path, found, out, unpacked, rows_needed=False)


def normalize(source: Path, dest: Path) -> Source:
    """The user's data (a dir or one file) as plain CSV: the same path when it already is."""
    source = Path(source)
    if source.is_file():
        path, unpacked = _unpacked(source, dest)
        dialect = _with_blank_rows(path, detect(path))
        if dialect.plain and not unpacked:
            return Source(source, files=[source])
        dest.mkdir(parents=True, exist_ok=True)
        out = dest / f"{stem_of(source)}.csv"
        return Source(out, [_copied(source, path, dialect, out, unpacked, rows_needed=True) + _HANDED], [source])
    found = table_files(source)
    unpacked = {stem: _unpacked(path, dest) for stem, path in found.items()}
    dialects = {stem: _with_blank_rows(path, detect(path)) for stem, (path, _) in unpacked.items()}
    if all(d.plain and found[s].suffix.lower() == ".csv" for s, d in dialects.items()):
        return Source(source, files=list(found.values()))
    dest.mkdir(parents=True, exist_ok=True)
    notes = []
    for stem, path in found.items():
        out = dest / f"{stem}.csv"
        if dialects[stem].plain and not unpacked[stem][1]:
            shutil.copyfile(path, out)
        else:
            notes.append(_copied(path, unpacked[stem][0], dialects[stem], out, unpacked[stem][1],
                                 rows_needed=stem == "train") + _HANDED)
    for extra in sorted(source.iterdir()):  # side files (descriptions) as the candidates would get them
        if extra.is_file() and extra not in found.values() and extra.stat().st_size < 1_000_000:
            shutil.copyfile(extra, dest / extra.name)
    return Source(dest, notes, list(found.values()))


def _copied(user: Path, path: Path, dialect: Dialect, out: Path, unpacked: str | None, *, rows_needed: bool) -> str:
    """`path` (the user's table, or its decompressed copy: `unpacked` says so) written as plain CSV at
    `out`; the note on how it was read."""
    if unpacked and dialect.plain:
        path.replace(out)
        return unpacked
    note = _convert(path, dialect, out, rows_needed=rows_needed, name=user.name)
    if unpacked:
        path.unlink()
        note = f"{unpacked} and {note.removeprefix(user.name + ' was ')}"
    return note


def _with_blank_rows(path: Path, dialect: Dialect) -> Dialect:
    return replace(dialect, blank_rows=True) if has_blank_rows(path, dialect) else dialect


def _convert(path: Path, dialect: Dialect, out: Path, *, rows_needed: bool = False, name: str | None = None) -> str:
    """Write `path` as UTF-8 comma CSV at `out`; the note saying how it was read. `rows_needed`: a
    table without rows (train.csv) is an error naming the user's file (`name`), not the copy."""
    from loom.application.run_search import tables  # (its package is heavy: only when a table needs it)

    name = name or path.name
    try:
        table = _read_parquet(path) if dialect.kind == "parquet" else _read_text(path, dialect)
    except DialectError as exc:
        raise DialectError(f"{name}: {exc}") from None
    blank = 0
    if dialect.kind == "csv":
        table, blank = _without_blank_rows(table)
    if rows_needed and table.num_rows == 0:
        raise DialectError(f"{name} is empty; it needs a header row and at least one data row")
    decimal: list[str] = []
    if dialect.kind == "csv" and dialect.sep != ",":
        table, decimal = numbers_written.decimal_commas(table)
    grouped: list[str] = []
    if dialect.thousands:
        table, grouped = numbers_written.thousands(table)
    tables.write(out, table)
    said = replace(dialect, blank_rows=False, thousands=False)
    note = f"{name} was read as {dialect.describe()}" if not said.plain or decimal else f"{name} was read"
    if decimal:
        note += f", with decimal commas in {_listed(decimal)}"
    if grouped:
        note += f", with thousands separators in {_listed(grouped)} (read as numbers)"
    if blank:
        note += f", without its {blank:,} blank row{'s' if blank > 1 else ''} (every field empty)"
    return note


def _without_blank_rows(table: "pa.Table") -> tuple["pa.Table", int]:
    """`table` without the rows whose every field is empty or spaces (with two columns or more)."""
    import pyarrow.compute as pc

    if table.num_columns < 2 or not table.num_rows:
        return table, 0
    blank = pc.equal(pc.utf8_trim_whitespace(table.column(0)), "")
    if not pc.any(blank).as_py():
        return table, 0
    for column in table.columns[1:]:
        blank = pc.and_(blank, pc.equal(pc.utf8_trim_whitespace(column), ""))
    count = pc.sum(blank).as_py() or 0
    return (table.filter(pc.invert(blank)), count) if count else (table, 0)


def _read_text(path: Path, dialect: Dialect) -> "pa.Table":
    import pyarrow as pa
    import pyarrow.csv as pacsv

    encoding = "utf-8-sig" if dialect.encoding == "utf-8" else dialect.encoding
    with path.open(newline="", encoding=encoding) as handle:
        raw = next(csv.reader(handle, delimiter=dialect.sep), [])
    names = [r.strip() for r in raw]
    if not names or names == [""]:
        raise DialectError("no header row")
    if len(set(names)) != len(names):
        raise DialectError("duplicate column names in the header")
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=names, encoding=encoding),
            parse_options=pacsv.ParseOptions(delimiter=dialect.sep, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (OSError, pa.ArrowException) as exc:
        raise DialectError((str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]) from None


def _read_parquet(path: Path) -> "pa.Table":
    """A Parquet file's columns as text (what the same table written as CSV would hold)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DialectError((str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]) from None
    columns, names = [], []
    for name, column in zip(table.column_names, table.columns):
        if name.startswith("__index_level_"):
            continue  # pandas' own index, not a column of the user's
        kind = column.type
        if pa.types.is_dictionary(kind):
            column, kind = column.cast(kind.value_type), kind.value_type
        if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            raise DialectError(f"column '{name}' holds {kind}: Loom reads flat tables of numbers, text and dates")
        if pa.types.is_timestamp(kind):
            text = _timestamps(column, kind)
        elif pa.types.is_date(kind):
            text = pc.strftime(column, format="%Y-%m-%d")
        else:
            text = column.cast(pa.string())
        columns.append(pc.fill_null(text, ""))
        names.append(str(name))
    return pa.table(columns, names=names)


def _timestamps(column: "pa.ChunkedArray", kind: "pa.TimestampType") -> "pa.ChunkedArray":
    """As pandas writes them: "2022-01-05" when every value is a midnight, else to the second, and
    fractions only when some value has them; a time zone as its offset."""
    import pyarrow as pa
    import pyarrow.compute as pc

    zone = "%z" if kind.tz else ""
    whole_seconds = pc.all(pc.equal(pc.floor_temporal(column, unit="second"), column)).as_py() is not False
    if not whole_seconds:
        return pc.strftime(column, format="%Y-%m-%d %H:%M:%S" + zone)
    midnights = pc.all(pc.equal(pc.floor_temporal(column, unit="day"), column)).as_py() is not False
    if midnights and not zone:
        return pc.strftime(column, format="%Y-%m-%d")
    return pc.strftime(column.cast(pa.timestamp("s", kind.tz)), format="%Y-%m-%d %H:%M:%S" + zone)


def _listed(names: list[str]) -> str:
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
