"""`loom proxy serve | keys | usage`: the gateway, its keys with their spend, and its call log summed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from cyclopts import App, Parameter

from loom.entrypoints.cli.common import Common, bare_group, emit, load_config

proxy_app = App(name="proxy", help="The gateway: holds the vendor key server-side and logs every call.",
          suppress_keyboard_interrupt=False)
bare_group(proxy_app)


@proxy_app.command
def serve(
    *,
    host: Annotated[str, Parameter(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, Parameter(help="Port to bind (0 = any free port; the URL is printed).")] = 8088,
    log_path: Annotated[
        Path | None, Parameter(help="Call log (JSONL), overrides LOOM_PROXY_LOG_PATH.")
    ] = None,
    rate_limit_rpm: Annotated[
        int | None, Parameter(help="Requests/minute for keys without their own rpm (429 beyond), overrides LOOM_PROXY_RATE_LIMIT_RPM.")
    ] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Serve the Anthropic-compatible gateway (vendor key from ANTHROPIC_API_KEY on the server).

    Callers present a LOOM_API_KEY as x-api-key or Authorization: Bearer.
    Allowed keys: LOOM_API_KEY, LOOM_API_KEYS (comma list), LOOM_API_KEYS_FILE (`key tenant owner
    [name=value ...]` lines, with per-key limits: max_usd, budget_period, rpm, tpm, max_parallel,
    models, expires). The keys file is re-read when it changes, or at once on SIGHUP.
    Calls go to ANTHROPIC_BASE_URL (default Anthropic's API); each is logged as one JSON line.
    Ctrl-C stops it cleanly. See docs/gateway.md.
    """
    import sys

    from loom.entrypoints.cli.ports import check_port
    from loom.entrypoints.gateway.server import serve as run_server

    check_port(port, any_free=True)
    config = load_config(common, proxy_log_path=log_path, proxy_rate_limit_rpm=rate_limit_rpm)
    report = run_server(config, host=host, port=port,
                        announce=lambda line: print(line, file=sys.stderr, flush=True))
    emit(common, {"status": "OK", "url": report.url, "calls": report.calls, "refused": report.refused,
                  "logged": report.logged, "log_path": str(config.proxy_log_path)},
         lambda out: None)
    return 0


_LOG_PATH_HELP = "Call log (JSONL) to read, overrides LOOM_PROXY_LOG_PATH."


@proxy_app.command
def keys(
    *,
    log_path: Annotated[Path | None, Parameter(help=_LOG_PATH_HELP)] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """List the gateway's API keys: id, tenant, owner, limits and spend so far (never the key itself).

    Keys come from LOOM_API_KEY, LOOM_API_KEYS and LOOM_API_KEYS_FILE, as `loom proxy serve` reads
    them. Spend is the server's snapshot next to the call log plus the log lines after it, so it is
    current while the server runs. Days and months are UTC.
    """
    import time

    from loom.application.credentials import as_credential_source
    from loom.entrypoints.gateway.keys import load_keyring
    from loom.entrypoints.gateway.spend import load_ledger
    from loom.entrypoints.gateway.usage import key_report

    config = load_config(common, proxy_log_path=log_path)
    ring = load_keyring(as_credential_source(None), tenant=config.tenant, owner=config.owned_by)
    ledger, loaded = load_ledger(config.proxy_log_path)
    rows = key_report(ring.entries, ledger, time.time())

    def human(out: Any) -> None:
        from rich.table import Table

        if not rows:
            out.print("no API keys configured (LOOM_API_KEY / LOOM_API_KEYS / LOOM_API_KEYS_FILE)")
            return
        table = Table(title=f"Gateway keys (spend from {config.proxy_log_path}; days and months UTC)")
        for col in ("key id", "tenant", "owner", "limits", "spent $ day/month/total", "budget left", "source"):
            table.add_column(col, no_wrap=col == "key id")
        for row in rows:
            spend, budget = row["spend"], row["budget"]
            left = "-"
            if budget is not None:
                left = "EXHAUSTED" if budget["exhausted"] else f"${budget['remaining_usd']:.4f}"
                if budget["unpriced_tokens"]:
                    left += f" (+{budget['unpriced_tokens']:,} unpriced tokens)"
            limits = " ".join(f"{k}={v}" for k, v in row["limits"].items()) or "-"
            if row["expired"]:
                limits += " EXPIRED"
            spent = "/".join(f"{spend[p]['usd']:.4f}" for p in ("day", "month", "total"))
            table.add_row(row["key_id"], row["tenant"], row["owner"], limits, spent, left, row["source"])
        out.print(table)

    emit(common, {"status": "OK", "keys": rows, "log_path": str(config.proxy_log_path),
                  "spend_from_snapshot": loaded["snapshot"], "log_lines_replayed": loaded["replayed"]}, human)
    return 0


@proxy_app.command
def usage(
    *,
    tenant: Annotated[str | None, Parameter(help="Only this tenant's calls.")] = None,
    since: Annotated[str | None, Parameter(help="Only calls from this date (YYYY-MM-DD, UTC) or ISO time on.")] = None,
    log_path: Annotated[Path | None, Parameter(help=_LOG_PATH_HELP)] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Sum the gateway's call log per tenant, owner and model: calls, errors, refusals, tokens, USD.

    USD is what the gateway charged each call (Loom's price table); tokens on models without a
    known price are shown apart, never as $0. Reads the log only (rotated files are not included).
    """
    from loom.entrypoints.gateway.usage import parse_since, summarize_log

    config = load_config(common, proxy_log_path=log_path)
    cutoff = parse_since(since) if since else None
    report = summarize_log(config.proxy_log_path, tenant=tenant, since=cutoff)

    def human(out: Any) -> None:
        from rich.table import Table

        if not report["rows"]:
            out.print("no calls in the log" + (" for that tenant/period" if tenant or since else ""))
            return
        table = Table(title=f"Gateway usage ({config.proxy_log_path}" + (f", since {cutoff}" if cutoff else "") + ")")
        for col in ("tenant", "owner", "model", "calls", "errors", "refused", "input", "output",
                    "cache w/r", "USD", "unpriced tokens"):
            table.add_column(col, justify="left" if col in ("tenant", "owner", "model") else "right")
        total = {"tenant": "TOTAL", "owner": "", "model": "", **report["total"]}
        for row in [*report["rows"], total]:
            table.add_row(row["tenant"], row["owner"], row["model"], f"{row['calls']:,}", f"{row['errors']:,}",
                          f"{row['refused']:,}", f"{row['input_tokens']:,}", f"{row['output_tokens']:,}",
                          f"{row['cache_creation_input_tokens']:,}/{row['cache_read_input_tokens']:,}",
                          f"{row['cost_usd']:.4f}", f"{row['unpriced_tokens']:,}" if row["unpriced_tokens"] else "-")
        out.print(table)

    emit(common, {"status": "OK", "log_path": str(config.proxy_log_path), "tenant": tenant, "since": cutoff,
                  **report}, human)
    return 0
