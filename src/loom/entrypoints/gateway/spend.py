"""What each key has spent: priced from the answers' usage (prices.py), kept per UTC day, month
and in total. Tokens on a model without a known price are counted as `unpriced_tokens`, never
as $0, and every budget message says how many there are.

Persistence: the call log is the source of truth. Each logged call carries its `cost_usd`; the
ledger's snapshot (`<log>.spend.json`, written by the log writer at most once a second and at
shutdown) records which byte of which log file it covers, so a restart loads the snapshot and
replays only the log lines after it. A crash therefore loses only the calls not yet logged (the
ones in flight). Delete the snapshot to rebuild the counters from the whole current log.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loom.entrypoints.gateway.calllog import read_summary
from loom.entrypoints.gateway.prices import price, tokens_of

log = logging.getLogger(__name__)

SNAPSHOT_VERSION = 1


def day_month(ts: float) -> tuple[str, str]:
    """UTC calendar labels of a unix time: ("2026-12-02", "2026-12")."""
    t = time.gmtime(ts)
    month = f"{t.tm_year:04d}-{t.tm_mon:02d}"
    return f"{month}-{t.tm_mday:02d}", month


@dataclass
class Bucket:
    usd: float = 0.0
    tokens: int = 0
    unpriced_tokens: int = 0

    def add(self, usd: float | None, tokens: int) -> None:
        self.tokens += tokens
        if usd is None:
            self.unpriced_tokens += tokens
        else:
            self.usd += usd

    def as_dict(self) -> dict[str, Any]:
        return {"usd": self.usd, "tokens": self.tokens, "unpriced_tokens": self.unpriced_tokens}


class KeySpend:
    """One key's spend: the current UTC day, the current UTC month and all time."""

    __slots__ = ("day", "day_label", "month", "month_label", "total")

    def __init__(self) -> None:
        self.total, self.day, self.month = Bucket(), Bucket(), Bucket()
        self.day_label, self.month_label = "", ""

    def add(self, day: str, month: str, usd: float | None, tokens: int) -> None:
        self.total.add(usd, tokens)
        if day > self.day_label:  # a new day starts from zero; a late call of yesterday counts only in total
            self.day, self.day_label = Bucket(), day
        if day == self.day_label:
            self.day.add(usd, tokens)
        if month > self.month_label:
            self.month, self.month_label = Bucket(), month
        if month == self.month_label:
            self.month.add(usd, tokens)

    def period(self, period: str, day: str, month: str) -> Bucket:
        """The bucket a budget of `period` is checked against, as of the labels given."""
        if period == "day":
            return self.day if self.day_label == day else Bucket()
        if period == "month":
            return self.month if self.month_label == month else Bucket()
        return self.total


class Ledger:
    """Spend per key id (charged as answers complete; replayed from the log at start-up)."""

    def __init__(self) -> None:
        self.keys: dict[str, KeySpend] = {}

    def charge(self, key_id: str, ts: float, usd: float | None, tokens: int) -> None:
        if tokens <= 0 and not usd:
            return
        day, month = day_month(ts)
        self.charge_labels(key_id, day, month, usd, tokens)

    def charge_labels(self, key_id: str, day: str, month: str, usd: float | None, tokens: int) -> None:
        spend = self.keys.get(key_id)
        if spend is None:
            spend = self.keys[key_id] = KeySpend()
        spend.add(day, month, usd, tokens)

    def spent(self, key_id: str, period: str, now: float) -> Bucket:
        spend = self.keys.get(key_id)
        if spend is None:
            return Bucket()
        day, month = day_month(now)
        return spend.period(period, day, month)

    def copy(self) -> "Ledger":
        return Ledger.from_json(self.to_json())

    def to_json(self) -> dict[str, Any]:
        return {k: {"day": [s.day_label, s.day.as_dict()], "month": [s.month_label, s.month.as_dict()],
                    "total": s.total.as_dict()} for k, s in self.keys.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Ledger":
        ledger = cls()
        for key, raw in data.items():
            spend = ledger.keys[key] = KeySpend()
            spend.total = Bucket(**raw["total"])
            spend.day_label, spend.day = raw["day"][0], Bucket(**raw["day"][1])
            spend.month_label, spend.month = raw["month"][0], Bucket(**raw["month"][1])
        return ledger


# ---- persistence ------------------------------------------------------------------------------
def snapshot_path(log_path: Path) -> Path:
    """`learnings/proxy_calls.jsonl` -> `learnings/proxy_calls.spend.json`."""
    return Path(log_path).with_suffix(".spend.json")


def save_snapshot(path: Path, ledger: Ledger, inode: int, offset: int) -> None:
    """Atomically replace the snapshot (write a temp file, then rename over it)."""
    data = json.dumps({"version": SNAPSHOT_VERSION, "log_inode": inode, "log_offset": offset,
                       "keys": ledger.to_json()}, separators=(",", ":")).encode()
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_ledger(log_path: Path) -> tuple[Ledger, dict[str, Any]]:
    """The ledger as of the end of the current log: snapshot + replay of the lines after it.

    Returns the ledger and facts for a status line: {"snapshot": bool, "replayed": lines}.
    An unreadable or foreign snapshot is ignored (the whole log is replayed instead).
    """
    log_path = Path(log_path)
    ledger, inode, offset, from_snapshot = Ledger(), None, 0, False
    snap = snapshot_path(log_path)
    try:
        data = json.loads(snap.read_text(encoding="utf-8"))
        if data.get("version") == SNAPSHOT_VERSION:
            ledger = Ledger.from_json(data["keys"])
            inode, offset, from_snapshot = data.get("log_inode"), int(data.get("log_offset") or 0), True
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("gateway: ignoring the spend snapshot, rebuilding from the log",
                    extra={"path": str(snap), "error": f"{type(exc).__name__}: {exc}"})
        ledger, inode, offset, from_snapshot = Ledger(), None, 0, False
    try:
        st = os.stat(log_path)
    except OSError:
        return ledger, {"snapshot": from_snapshot, "replayed": 0}
    replayed = 0
    if inode != st.st_ino or offset > st.st_size:  # a new (rotated) file since the snapshot
        rotated = rotated_file(log_path, inode) if inode is not None else None
        if rotated is not None:  # the rest of the file the snapshot stopped in: a crash came before the next snapshot
            replayed += replay(ledger, rotated, offset)
        offset = 0
    replayed += replay(ledger, log_path, offset)
    return ledger, {"snapshot": from_snapshot, "replayed": replayed}


def rotated_file(log_path: Path, inode: int) -> Path | None:
    """The file the snapshot was taken in, moved away by a rotation (`calls.jsonl.1`, ...): same inode.

    A rename keeps the inode; a rotation that compressed or copied the file cannot be followed,
    and then the calls logged after the last snapshot into the old file are not counted.
    """
    folder = Path(log_path).parent
    try:
        names = [p for p in folder.iterdir() if p.name.startswith(Path(log_path).name) and p != Path(log_path)]
    except OSError:
        return None
    for path in names:
        try:
            if path.is_file() and path.stat().st_ino == inode:
                return path
        except OSError:
            continue
    return None


def replay(ledger: Ledger, log_path: Path, offset: int = 0) -> int:
    """Charge every answered `messages` call in the log from byte `offset` on; lines replayed."""
    count = 0
    with open(log_path, "rb") as fh:
        fh.seek(offset)
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # a line still being written
            if b'"route": "messages"' not in raw:
                continue  # cheap: only answered messages calls spend
            record = read_summary(raw)
            if record is None:
                continue
            charge = charge_of_record(record)
            if charge is not None:
                key_id, day, month, usd, tokens = charge
                ledger.charge_labels(key_id, day, month, usd, tokens)
                count += 1
    return count


def charge_of_record(record: dict[str, Any]) -> tuple[str, str, str, float | None, int] | None:
    """(key_id, day, month, usd, tokens) of one log record, or None when it spent nothing."""
    if record.get("route") != "messages":
        return None
    tokens = tokens_of(record.get("usage"))
    key_id, ts = record.get("key_id"), record.get("ts")
    if not tokens or not isinstance(key_id, str) or not isinstance(ts, str) or len(ts) < 10:
        return None
    usd = record["cost_usd"] if "cost_usd" in record else price(record.get("model"), record.get("usage"))
    if usd is not None and not isinstance(usd, (int, float)):
        usd = None
    return key_id, ts[:10], ts[:7], usd, tokens
