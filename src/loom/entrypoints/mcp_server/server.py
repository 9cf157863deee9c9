"""The Loom MCP server: one tool per verb, approval tiers, background runs, loom:// resources.

Built on the SDK's MCPServer. Tools are registered from the catalog with schemas derived from the
CLI commands; a tool outside the allowed tiers is not registered (so not listed) and a call to it
is refused with the `--allow` flag that would permit it. Refusals and failures are tool results
with `isError` and the CLI's `--json` error object {status, exit_code, message, hint}.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp_types import Resource as MCPResource
from mcp_types import ToolAnnotations
from pydantic import Field

from loom import __version__
from loom.application.config import LoomConfig
from loom.domain.errors import LoomError, RefusedError
from loom.entrypoints.cli.common import Common
from loom.entrypoints.mcp_server import catalog, resources
from loom.entrypoints.mcp_server.bridge import CommandCall, ProgressForwarder, error_result, run_command, tool_result
from loom.entrypoints.mcp_server.jobs import RunJobs
from loom.entrypoints.mcp_server.schema import argument_model, cli_command, cli_flags, input_schema, output_schema

log = logging.getLogger(__name__)

INSTRUCTIONS = """Loom: an agentic data-science engine. Each tool is a `loom` verb and returns that
verb's --json object (status first, plus exit_code). Typical flow: ingest a data dir -> eda (read
its leakage flags) -> run (search; baseline brain is keyless) -> validate -> report. Long tools
(run, pipeline, train) send progress notifications when you pass a progress token; cancelling a run
stops it like Ctrl-C (journal saved; continue with run resume=RUN_ID). Without progress support use
run_start, then run_status / run_cancel. Results of runs are also resources: loom://runs/{run_id}/
{leaderboard,best_solution,summary,card}; data objects: loom://datasets/{flow}/{run}/schema.
Tiers: read, compute (default), spend (LLM calls) and gated (deploy apply, train launch) need the
server to be started with --allow; a refused call says which flag. Stop and ask the human before
anything that spends money or deploys."""

Handler = Callable[..., Awaitable[Any]]


class LoomMCPServer(MCPServer):
    """MCPServer with Loom's tiers: refused tools answer with the flag that would allow them."""

    def __init__(self, *, allowed: tuple[str, ...], config_file: Path | None = None) -> None:
        self.allowed = allowed
        self.config_file = config_file
        self.config = self.load_config()
        self.jobs = RunJobs(Path(self.config.home))
        tools = [verb_tool(self, spec) for spec in catalog.SPECS] + job_tools(self)
        tiers = {spec.name: spec.tier for spec in catalog.SPECS} | catalog.JOB_TOOLS
        self.refused = {t.name: tiers[t.name] for t in tools if tiers[t.name] not in allowed}  # tool -> tier it needs
        super().__init__(name="loom", title="Loom", version=__version__, instructions=INSTRUCTIONS,
                         log_level="WARNING", tools=[t for t in tools if t.name not in self.refused])
        resources.register(self, self.config)

    def load_config(self) -> LoomConfig:
        """The configuration a CLI call would see (default < YAML < .env < environment)."""
        return LoomConfig.load(yaml_file=self.config_file, flags={})

    def common(self) -> Common:
        return Common(config=self.config_file, json=True)

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        if name in self.refused:
            return refusal(name, self.refused[name], self.allowed)
        return await super().call_tool(name, arguments, context)

    async def list_resources(self) -> list[MCPResource]:
        """The resource templates' instances for the newest runs, so clients can browse them."""
        listed = list(await super().list_resources())
        for run_id in resources.recent_runs(Path(self.config.home)):
            for kind, (_, mime, description) in resources.RUN_FILES.items():
                listed.append(MCPResource(uri=f"loom://runs/{run_id}/{kind}", name=f"{run_id} {kind}",
                                          description=description, mime_type=mime))
        return listed


def refusal(name: str, tier: str, allowed: tuple[str, ...], what: str = "") -> Any:
    err = RefusedError(
        f"'{name}'{what} is in the '{tier}' tier, which this server does not allow (allowed: {', '.join(allowed)})",
        status="REFUSED_TIER", hint=f"restart the server with `{catalog.allow_flag(tier)}` to allow it",
    )
    return error_result(err)


def _tool(name: str, title: str, description: str, model: type[Any], handler: Handler,
          annotations: dict[str, Any], result: str | None = None) -> Tool:
    return Tool(
        fn=handler, name=name, title=title, description=description, parameters=input_schema(model),
        fn_metadata=FuncMetadata(arg_model=model, output_schema=output_schema(result)),
        is_async=True, context_kwarg="ctx", annotations=ToolAnnotations(**annotations),
    )


def _tier_note(spec: catalog.ToolSpec) -> str:
    notes = {"run": "compute with a keyless brain (search=baseline); spend with an LLM brain (aide)",
             "pipeline": "compute with a keyless brain (search=baseline); spend with an LLM brain (aide)",
             "deploy": "compute for the plan; gated with apply=true", "train": "compute for a plan or a CPU "
             "build; gated with launch=true"}
    return notes.get(spec.name, spec.tier)


def verb_tool(server: LoomMCPServer, spec: catalog.ToolSpec, *, name: str | None = None) -> Tool:
    """The tool for one verb: the CLI command's flags as arguments, its --json object as result."""
    fn = cli_command(spec.target)
    flags = cli_flags(fn, spec.omit)
    model = argument_model(name or spec.name, flags)
    positional = tuple(f.name for f in flags if f.positional)

    async def handler(ctx: Context, **args: Any) -> Any:
        refused = _check_tier(server, spec, args)
        if refused is not None:
            return refused
        progress = ProgressForwarder(ctx.report_progress, spec.progress) if spec.progress else None
        call = CommandCall(fn, args, positional, server.common(),
                           observer=progress if spec.progress in ("run", "stages") else None)
        return await run_command(call, progress, spec.name)

    doc = (fn.__doc__ or spec.title).strip()
    description = f"{doc}\n\nTier: {_tier_note(spec)}. Returns the `loom {spec.name} --json` object."
    return _tool(name or spec.name, spec.title, description, model, handler,
                 catalog.annotations_for(spec, server.allowed), spec.result)


def _check_tier(server: LoomMCPServer, spec: catalog.ToolSpec, args: dict[str, Any]) -> Any:
    try:
        need = spec.call_tier(args, server.load_config())
    except LoomError as err:
        return error_result(err)
    if need in server.allowed:
        return None
    what = {"apply": " with apply=true", "launch": " with launch=true"}
    detail = next((text for flag, text in what.items() if args.get(flag)), " with an LLM brain")
    return refusal(spec.name, need, server.allowed, detail)


def job_tools(server: LoomMCPServer) -> list[Tool]:
    """run_start / run_status / run_cancel."""
    run_spec = catalog.spec("run")
    fn = cli_command(run_spec.target)
    flags = cli_flags(fn, run_spec.omit)
    start_model = argument_model("run_start", flags)

    async def start(ctx: Context, **args: Any) -> Any:
        refused = _check_tier(server, run_spec, args)
        if refused is not None:
            return refused
        call = CommandCall(fn, args, (), server.common())
        job, started = await anyio.to_thread.run_sync(server.jobs.start, call)
        if not started:
            if call.finished.is_set():
                return call.outcome()
            call.stop.set()
            return error_result(LoomError("the run did not start within 120 s; it was stopped"))
        return tool_result({"status": "RUNNING", "exit_code": 0, "run_id": job.run_id, "run_dir": job.run_dir,
                            "progress": {"done": job.done, "total": job.total},
                            "hint": "follow it with run_status(run_id); stop it with run_cancel(run_id)"})

    class _RunId(argument_model("run_status", [])):  # type: ignore[misc]
        run_id: str = Field(description="The run id that run_start returned (or any run under LOOM_HOME).")

    class _Cancel(_RunId):
        wait: float = Field(default=120.0, description="Seconds to wait for the run to stop and save.")

    async def status(ctx: Context, run_id: str) -> Any:
        try:
            return tool_result({"exit_code": 0, **server.jobs.status(run_id)})
        except LoomError as err:
            return error_result(err)

    async def cancel(ctx: Context, run_id: str, wait: float = 120.0) -> Any:
        try:
            view = await anyio.to_thread.run_sync(server.jobs.cancel, run_id, wait)
        except LoomError as err:
            return error_result(err)
        return tool_result({"exit_code": 0, **view})

    view: dict[str, Any] = {"read_only": True, "idempotent": True}
    specs: dict[str, tuple[type[Any], Handler, str, catalog.ToolSpec, str]] = {
        "run_start": (start_model, start, "Start a run in the background", run_spec,
                      "Start `loom run` in the background and return its run id at once (same arguments as run). "
                      "Follow it with run_status; stop it with run_cancel."),
        "run_status": (_RunId, status, "Status of a background run",
                       catalog.ToolSpec("run_status", "", "read", "", **view),
                       "Progress, the last events and, once finished, the run's --json object."),
        "run_cancel": (_Cancel, cancel, "Stop a background run",
                       catalog.ToolSpec("run_cancel", "", "compute", "", idempotent=True),
                       "Stop a run started with run_start, like Ctrl-C: INTERRUPTED, journal saved, "
                       "resumable with run resume=RUN_ID."),
    }
    tools = []
    for name, (model, handler, title, spec, text) in specs.items():
        annotations = catalog.annotations_for(spec, server.allowed) | {"title": title}
        result = run_spec.result if name == "run_start" else None
        tools.append(_tool(name, title, f"{text}\n\nTier: {catalog.JOB_TOOLS[name]}.", model, handler,
                           annotations, result))
    return tools


def build_server(allowed: tuple[str, ...], config_file: Path | None = None) -> LoomMCPServer:
    """The server with every tool the tiers allow, and the loom:// resources."""
    return LoomMCPServer(allowed=allowed, config_file=config_file)
