"""Reports for operators, read from the keys and the call log (no server needed, read-only).

- `key_report`: every allowed key (id, tenant, owner, where it is defined, its limits) with its
  spend so far: today, this month and in total (UTC), and for a budgeted key what is left.
  Never the key text.
- `summarize_log`: the call log summed per tenant / owner / model: calls, errors, refusals,
  tokens and USD. USD is each line's own `cost_usd` (what the gateway charged); a line written
  before the gateway recorded costs is priced now from the price table and counted in
  `repriced_calls`. Tokens on models without a price are reported apart (`unpriced_tokens`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from loom.domain.errors import UsageError
from loom.entrypoints.gateway.calllog import read_summary
from loom.entrypoints.gateway.keys import KeyEntry
from loom.entrypoints.gateway.limits import period_end
from loom.entrypoints.gateway.policy import iso_utc
from loom.entrypoints.gateway.prices import price
from loom.entrypoints.gateway.spend import Ledger, day_month

TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def key_report(entries: Iterable[KeyEntry], ledger: Ledger, now: float) -> list[dict[str, Any]]:
    day, month = day_month(now)
    rows = []
    for entry in entries:
        policy = entry.policy
        spend = ledger.keys.get(entry.key_id)
        buckets = {name: (spend.period(name, day, month) if spend else None) for name in ("day", "month", "total")}
        row: dict[str, Any] = {
            "key_id": entry.key_id, "tenant": entry.tenant, "owner": entry.owner, "source": entry.source,
            "limits": policy.as_dict(),
            "spend": {name: (b.as_dict() if b else {"usd": 0.0, "tokens": 0, "unpriced_tokens": 0})
                      for name, b in buckets.items()},
            "expired": policy.expires is not None and now >= policy.expires,
            "budget": None,
        }
        if policy.max_usd is not None:
            bucket = row["spend"][policy.budget_period]
            reset = period_end(policy.budget_period, now)
            row["budget"] = {
                "max_usd": policy.max_usd, "period": policy.budget_period, "spent_usd": bucket["usd"],
                "remaining_usd": max(0.0, policy.max_usd - bucket["usd"]),
                "exhausted": bucket["usd"] >= policy.max_usd,
                "unpriced_tokens": bucket["unpriced_tokens"],
                "resets_at": iso_utc(reset) if reset is not None else None,
            }
        rows.append(row)
    return rows


def parse_since(text: str) -> str:
    """`2026-12-01` or an ISO time -> the log's timestamp format, for string comparison."""
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            moment = datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
    except ValueError:
        raise UsageError(f"--since must be a date (YYYY-MM-DD) or an ISO time, got {text!r}") from None
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _group() -> dict[str, Any]:
    out: dict[str, Any] = {"calls": 0, "errors": 0, "refused": 0}
    out.update({name: 0 for name in TOKEN_FIELDS})
    out.update({"cost_usd": 0.0, "unpriced_calls": 0, "unpriced_tokens": 0, "repriced_calls": 0})
    return out


def _add(group: dict[str, Any], record: dict[str, Any]) -> None:
    group["calls"] += 1
    if record.get("error") or (record.get("status") or 0) >= 400:
        group["errors"] += 1
    if record.get("refused_by"):
        group["refused"] += 1
    usage = record.get("usage")
    if record.get("route") != "messages" or not isinstance(usage, dict):
        return
    tokens = 0
    for name in TOKEN_FIELDS:
        value = usage.get(name)
        if isinstance(value, int) and value > 0:
            group[name] += value
            tokens += value
    if not tokens:
        return
    if "cost_usd" in record:
        usd = record["cost_usd"]
    else:
        usd = price(record.get("model"), usage)
        group["repriced_calls"] += 1
    if isinstance(usd, (int, float)):
        group["cost_usd"] += usd
    else:
        group["unpriced_calls"] += 1
        group["unpriced_tokens"] += tokens


def summarize_log(path: Path, *, tenant: str | None = None, since: str | None = None) -> dict[str, Any]:
    """Sum the log per (tenant, owner, model). `since` is parse_since()'s output."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    total = _group()
    skipped = 0
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise UsageError(f"no call log at {path}", hint="set --log-path or LOOM_PROXY_LOG_PATH") from None
    except OSError as exc:
        raise UsageError(f"cannot read the call log {path}: {exc.strerror or type(exc).__name__}") from None
    with fh:
        for raw in fh:
            if since is not None and raw.startswith(b'{"ts": "') and raw[8:37].decode("ascii", "replace") < since:
                continue  # cheap: the timestamp leads every line, no need to parse it
            record = read_summary(raw)  # prompts are not parsed: they can be most of each line
            if record is None:
                skipped += 1
                continue
            if since is not None and str(record.get("ts") or "") < since:
                continue
            if tenant is not None and record.get("tenant") != tenant:
                continue
            key = (str(record.get("tenant")), str(record.get("owner")), str(record.get("model") or "-"))
            group = groups.get(key)
            if group is None:
                group = groups[key] = _group()
            _add(group, record)
            _add(total, record)
    rows = [{"tenant": t, "owner": o, "model": m, **g} for (t, o, m), g in sorted(groups.items())]
    for row in [*rows, total]:
        row["cost_usd"] = round(row["cost_usd"], 8)
    return {"rows": rows, "total": total, "unreadable_lines": skipped}
