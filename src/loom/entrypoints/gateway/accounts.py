"""Keeping spend: the live ledger the limits check, and the durable one that matches the log.

Two ledgers, one truth. The *live* ledger (inside `Limits`) is charged as soon as an answer
completes for keys whose policy needs it (a budget or tpm: charged in the handler, before the
next call can be admitted), and by the log writer for every other key. The *durable* ledger is
charged by the writer only for lines it has appended, so it always equals "the log up to byte
N"; its snapshot records N, and a restart replays the log after N (spend.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

from loom.entrypoints.gateway.calllog import Call, settle
from loom.entrypoints.gateway.limits import Limits
from loom.entrypoints.gateway.spend import Ledger, save_snapshot

log = logging.getLogger(__name__)


class SpendKeeper:
    """The call log's keeper (calllog.Keeper): charges calls and snapshots the durable ledger."""

    def __init__(self, limits: Limits, durable: Ledger, snapshot: Path) -> None:
        self.limits = limits
        self.durable = durable
        self.snapshot = Path(snapshot)
        self._where: tuple[int, int] | None = None  # (inode, offset) the durable ledger covers
        self._dirty = False

    def charge_now(self, call: Call) -> None:
        """Settle and charge a call at once (keys with a budget or tpm); idempotent."""
        if call.charged:
            return
        settle(call)
        call.charged = True
        if call.tokens:
            self.limits.charge(call.key_id, call.started, call.cost_usd, call.tokens)

    def before_write(self, call: Call) -> None:
        self.charge_now(call)

    def after_write(self, calls: list[Call], inode: int, offset: int) -> None:
        for call in calls:
            if call.tokens:
                self.durable.charge(call.key_id, call.started, call.cost_usd, call.tokens)
        self._where = (inode, offset)
        self._dirty = True

    def save(self) -> None:
        if not self._dirty or self._where is None:
            return
        try:
            save_snapshot(self.snapshot, self.durable, *self._where)
            self._dirty = False
        except OSError as exc:  # the log still holds the truth: the next start replays more of it
            log.error("gateway: cannot save the spend snapshot",
                      extra={"path": str(self.snapshot), "error": exc.strerror or type(exc).__name__})
