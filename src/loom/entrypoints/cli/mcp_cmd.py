"""`loom mcp serve`: Loom's verbs as tools for any MCP client (Claude Code, IDEs, scripts)."""

from __future__ import annotations

from typing import Annotated

from cyclopts import App, Parameter

from loom.entrypoints.cli.common import Common, bare_group, effective, load_config

mcp_app = App(name="mcp", help="Serve Loom's verbs as MCP tools (`loom mcp serve`).",
          suppress_keyboard_interrupt=False)
bare_group(mcp_app)


@mcp_app.command
def serve(
    *,
    allow: Annotated[str | None, Parameter(help="Widen the approval tiers beyond read,compute: a comma list of spend (LLM calls), gated (deploy apply, train launch), or all.")] = None,
    http: Annotated[str | None, Parameter(help="Serve streamable HTTP on HOST:PORT (loopback only; callers need a key from LOOM_API_KEY / LOOM_API_KEYS / LOOM_API_KEYS_FILE) instead of stdio.")] = None,
    list_tools: Annotated[bool, Parameter(negative="", help="Print the tools this server would expose (with their tiers) and exit.")] = False,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Serve an MCP server over stdio (default) or streamable HTTP: one tool per verb.

    Tools: run, pipeline, plan, ingest, eda, features, train, validate, report, deploy, ops,
    datasets, runs, show, card, config, providers, doctor, and run_start / run_status /
    run_cancel. Each returns the verb's --json object. Tiers: read and compute are on; spend
    (runs/pipelines with an LLM brain, plan) and gated (deploy apply, train launch) need --allow.
    A tool outside the tiers is not listed, and calling it is refused with the flag to add.
    Resources: loom://runs/RUN_ID/{leaderboard,best_solution,summary,card} and
    loom://datasets/FLOW/ID/schema. See docs/agents.md.
    """
    import sys

    from loom.entrypoints.mcp_server.catalog import JOB_TOOLS, SPECS, parse_tiers

    allowed = parse_tiers(allow)
    common = effective(common)
    config = load_config(common)  # one actionable line now for a bad config, not at the first call
    if list_tools:
        from loom.entrypoints.cli.common import emit

        tools = [{"name": s.name, "tier": s.tier, "listed": s.tier in allowed} for s in SPECS]
        tools += [{"name": n, "tier": t, "listed": t in allowed} for n, t in JOB_TOOLS.items()]

        def human(out) -> None:  # type: ignore[no-untyped-def]
            out.print(f"tiers allowed: {', '.join(allowed)}  (+ listed, - refused with the --allow flag to add)")
            for t in tools:
                out.print(f"{'+' if t['listed'] else '-'} {t['name']:<11} {t['tier']}")

        emit(common, {"status": "OK", "allowed": list(allowed), "tools": tools}, human)
        return 0
    keyring = address = None
    if http:
        from loom.entrypoints.mcp_server.http import caller_keys, parse_address

        address = parse_address(http)
        keyring = caller_keys(config)

    from loom.entrypoints.mcp_server.server import build_server
    from loom.entrypoints.signals import term_as_interrupt

    server = build_server(allowed, common.config)
    previous = term_as_interrupt()
    try:
        if address is not None and keyring is not None:
            from loom.entrypoints.mcp_server.http import serve_http

            serve_http(server, keyring, *address, announce=lambda line: print(line, file=sys.stderr, flush=True))
        else:
            print(f"loom mcp: serving on stdio (tiers {','.join(allowed)})", file=sys.stderr, flush=True)
            server.run("stdio")
    except KeyboardInterrupt:
        pass
    finally:
        server.jobs.shutdown()  # background runs stop like Ctrl-C: journals saved, resumable
        if previous is not None:
            import signal

            signal.signal(signal.SIGTERM, previous)
    return 0


