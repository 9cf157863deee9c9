"""The gateway server (`loom proxy serve`): an Anthropic-compatible passthrough (docs/gateway.md).

app.py (routes and the request pipeline, `create_app`), keys.py (the LOOM_API_KEY allowlist),
upstream.py + pool.py (the one shared httpx client to the vendor), calllog.py (the JSONL call
log, one writer), ratelimit.py (per-key requests/minute), errors.py (Anthropic-shaped errors),
server.py (uvicorn: bind, serve, stop).
"""
