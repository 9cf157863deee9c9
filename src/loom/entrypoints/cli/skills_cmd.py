"""`loom skills install`: the Claude Code skill pack, and the MCP server entry for it."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

from cyclopts import App, Parameter

from loom.entrypoints.cli.common import Common, bare_group, emit, load_config

skills_app = App(name="skills", help="Install the Claude Code skill pack (`loom skills install`).",
          suppress_keyboard_interrupt=False)
bare_group(skills_app)

SERVER_NAME = "loom"


def loom_command() -> list[str]:
    """An absolute command that starts this Loom, whatever the PATH of the MCP client is.

    The running `loom` script first (`.venv/bin/loom` when the user typed that), then the one
    beside this interpreter (same install), then `loom` on PATH; else `python -m` this CLI.
    """
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name in ("loom", "loom.exe") and script.is_file():
        return [str(script.resolve())]
    for beside in (Path(sys.executable).with_name("loom"), Path(sys.executable).with_name("loom.exe")):
        if beside.is_file():
            return [str(beside.absolute())]
    found = shutil.which("loom")
    if found:
        return [str(Path(found).resolve())]
    return [str(Path(sys.executable).absolute()), "-m", "loom.entrypoints.cli.app"]


def mcp_entry() -> dict[str, Any]:
    """The `.mcp.json` entry that starts `loom mcp serve` over stdio (an absolute command)."""
    command, *prefix = loom_command()
    return {"type": "stdio", "command": command, "args": [*prefix, "mcp", "serve"], "env": {}}


def merge_mcp_json(path: Path, entry: dict[str, Any]) -> None:
    """Add (or replace) the `loom` server in `.mcp.json`, keeping every other server and key."""
    from loom.domain.errors import UsageError

    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8") or "{}")
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path} is not valid JSON (line {exc.lineno}); fix it or move it away, "
                             "nothing was changed") from None
        if not isinstance(data, dict) or not isinstance(data.get("mcpServers", {}), dict):
            raise UsageError(f"{path} has no mcpServers object; nothing was changed")
    data.setdefault("mcpServers", {})[SERVER_NAME] = entry
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


@skills_app.command
def install(
    *,
    project: Annotated[bool, Parameter(negative="", help="Install into this project: DIR/.claude/skills (the default).")] = False,
    user: Annotated[bool, Parameter(negative="", help="Install for every project of this user: ~/.claude/skills.")] = False,
    mcp: Annotated[bool, Parameter(negative="", help="Also add the Loom MCP server to DIR/.mcp.json (other servers are kept).")] = False,
    dir: Annotated[Path | None, Parameter(help="The project directory (default: the current directory).")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Write the Claude Code skill pack: loom-optimize, loom-eda, loom-validate, loom-pipeline.

    Each skill is `.claude/skills/<name>/SKILL.md`: frontmatter (name, description, allowed-tools
    naming the loom commands it may run without a prompt) and instructions: which verb to run
    with --json, how to read the result, and when to stop and ask (spend, gates, leakage).
    Prints the MCP server entry; with --mcp merges it into DIR/.mcp.json. Re-running updates
    the files in place.
    """
    from loom.domain.errors import UsageError
    from loom.entrypoints.cli.skills_pack import SKILLS

    load_config(common)  # logging set-up and a clear error for a bad --config, like every verb
    if project and user:
        raise UsageError("pass --project or --user, not both")
    root = (dir or Path.cwd()).expanduser().absolute()
    base = (Path.home() if user else root) / ".claude" / "skills"
    written = []
    for skill in SKILLS:
        path = base / skill.name / "SKILL.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(skill.render(), encoding="utf-8")
        written.append({"name": skill.name, "path": str(path)})
    entry = mcp_entry()
    mcp_json = root / ".mcp.json" if mcp else None
    if mcp_json is not None:
        merge_mcp_json(mcp_json, entry)
    add_command = (f"claude mcp add --scope {'user' if user else 'project'} {SERVER_NAME} -- "
                   + shlex.join([entry["command"], *entry["args"]]))
    payload = {"status": "OK", "scope": "user" if user else "project", "skills": written,
               "mcp_entry": {"mcpServers": {SERVER_NAME: entry}}, "mcp_json": str(mcp_json) if mcp_json else None,
               "claude_command": add_command}

    def human(out) -> None:  # type: ignore[no-untyped-def]
        for item in written:
            out.print(f"wrote {item['path']}")
        if mcp_json is not None:
            out.print(f"added the '{SERVER_NAME}' MCP server to {mcp_json}")
        else:
            out.print("MCP server entry (add it to .mcp.json, or run the command below):")
            out.print(json.dumps(payload["mcp_entry"], indent=2), markup=False)
            out.print(add_command, markup=False)

    emit(common, payload, human)
    return 0
