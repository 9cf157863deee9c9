"""The gateway server (`loom proxy serve`): an Anthropic-compatible passthrough (docs/gateway.md).

app.py (routes and the request pipeline, `create_app`), relay.py (streamed answers), guards.py
(hostile input, last-resort 500s), keys.py + policy.py (the LOOM_API_KEY allowlist, each key's
limits, reloading the keys file), limits.py + ratelimit.py (enforcing them: expiry, models,
budget, tpm, max_parallel, rpm), prices.py + spend.py + accounts.py (pricing answers, the spend
ledger and its snapshot next to the call log), calllog.py (the JSONL call log, one writer),
usage.py (`loom proxy keys` / `usage` reports), upstream.py + pool.py (the one shared httpx client
to the vendor), errors.py (Anthropic-shaped errors), server.py (uvicorn: bind, serve, stop).
"""
