"""What every command shares: the global flags, loading LoomConfig, and rendering results.

Commands stay thin: flags -> config overrides -> one use-case call -> render (rich for people,
one JSON object for machines) -> exit code. Nothing here imports a backend.
"""

from __future__ import annotations

import json as _json
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from cyclopts import Parameter

if TYPE_CHECKING:
    from rich.console import Console

    from loom.application.config import LoomConfig
    from loom.entrypoints.container import Container


HELP = {
    "config": "YAML config file. Precedence: default < YAML < .env < environment < flag.",
    "json": "Print one machine-readable JSON object on stdout.",
    "debug": "Show the full traceback on errors.",
}


@Parameter(name="*")
@dataclass(frozen=True)
class Common:
    """Flags every verb accepts (they may also come before the verb: `loom --json VERB`)."""

    config: Annotated[
        Path | None,
        Parameter(help=HELP["config"]),
    ] = None
    json: Annotated[bool, Parameter(negative="", help=HELP["json"])] = False
    debug: Annotated[bool, Parameter(negative="", help=HELP["debug"])] = False


# Global flags given before the verb (set by the meta app in app.py).
_GLOBAL = Common()


def set_global(common: Common) -> None:
    global _GLOBAL
    _GLOBAL = common


def effective(common: Common | None) -> Common:
    """Merge a command's own flags with the ones given before the verb."""
    common = common or Common()
    return replace(
        common,
        config=common.config or _GLOBAL.config,
        json=common.json or _GLOBAL.json,
        debug=common.debug or _GLOBAL.debug,
    )


@dataclass(frozen=True)
class CallHooks:
    """How an in-process caller (the MCP server) drives a command instead of a terminal.

    `sink` takes the --json payload instead of stdout; `observer` also gets the progress events
    of long verbs; `stop` (a threading.Event) stops a run like Ctrl-C does. Per call, per thread.
    """

    sink: Callable[[dict[str, Any]], None] | None = None
    observer: Any = None
    stop: Any = None


_HOOKS: ContextVar[CallHooks] = ContextVar("loom_cli_hooks", default=CallHooks())


def hooks() -> CallHooks:
    """The hooks of the current call (none when a person runs the CLI)."""
    return _HOOKS.get()


@contextmanager
def hooked(call_hooks: CallHooks) -> Iterator[CallHooks]:
    """Run commands in this context with `call_hooks` (the MCP bridge does, per tool call)."""
    token = _HOOKS.set(call_hooks)
    try:
        yield call_hooks
    finally:
        _HOOKS.reset(token)


# The flag that sets a setting, where it is not `--` + the field's name with dashes (README's
# configuration table); a bad flag value is reported by the flag (`--steps`), never the field.
FLAG_OF_FIELD = {
    "budget_steps": "--steps", "budget_num_drafts": "--num-drafts", "budget_debug_prob": "--debug-prob",
    "budget_max_debug_depth": "--max-debug-depth", "search_provider": "--search", "mlops_provider": "--mlops",
    "proxy_log_path": "--log-path", "proxy_rate_limit_rpm": "--rate-limit-rpm",
}


def flag_of(field: str) -> str:
    """The CLI flag that sets config field `field` (`budget_steps` -> `--steps`)."""
    return FLAG_OF_FIELD.get(field, "--" + field.replace("_", "-"))


def load_config(common: Common | None, flag_names: Mapping[str, str] | None = None, **flags: Any) -> "LoomConfig":
    """LoomConfig from every layer; `flags` are the command's overrides (None = not given).

    A bad override is named by its flag (`flag_of`; `flag_names` {field: flag} where a verb
    spells it otherwise, e.g. plan's --model-provider for feedback_provider)."""
    from loom.application.config import LoomConfig
    from loom.entrypoints.logging import configure_logging

    common = effective(common)
    configure_logging(debug=common.debug)
    given = {k: v for k, v in flags.items() if v is not None}
    names = {field: flag_of(field) for field in given} | dict(flag_names or {})
    config = LoomConfig.load(yaml_file=common.config, flags=given, flag_names=names)
    from loom.entrypoints.cli.errors import note_home

    note_home(config.home)  # an OSError inside it later is reported as LOOM_HOME's, not an internal error
    return config


def container_for(config: "LoomConfig") -> "Container":
    """The verb's container; first, LOOM_HOME must be a folder Loom can write (exit 2 naming it)."""
    from loom.application.local_setup import require_home
    from loom.entrypoints.container import build_container

    require_home(config.home)
    return build_container(config)


def console(stderr: bool = False) -> "Console":
    """The rich console of the human output: user text in it never reaches the terminal as control
    characters, and a line whose markup does not parse prints as text (safe_text.py); user text put
    into a markup string still goes through `safe()`."""
    from loom.entrypoints.cli.safe_text import CleanOutput, MarkupSafeConsole

    out = MarkupSafeConsole(stderr=stderr, highlight=False, soft_wrap=True)
    out.push_render_hook(CleanOutput())
    return out


def emit(
    common: Common | None,
    payload: Mapping[str, Any],
    human: Callable[["Console"], None] | None = None,
) -> None:
    """Print a result: one JSON object with --json, else the human rendering (rich)."""
    sink = hooks().sink
    if sink is not None:  # an in-process caller takes the --json object itself
        sink(jsonable(payload))
        return
    if effective(common).json:
        sys.stdout.write(_json.dumps(payload, default=_json_default, sort_keys=False) + "\n")
        sys.stdout.flush()
        return
    out = console()
    if human is not None:
        human(out)
    else:
        for key, value in payload.items():
            out.print(f"[bold]{key}[/bold]: {value}")


def jsonable(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The --json object as plain JSON types (what `--json` prints, parsed back)."""
    result: dict[str, Any] = _json.loads(_json.dumps(payload, default=_json_default))
    return result


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "value"):
        return obj.value
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(obj)
    return str(obj)


def not_built(verb: str, issue: int) -> int:
    """For verbs whose issue has not landed: exit 2 with one line (the --help is already right)."""
    from loom.domain.errors import NotBuiltYetError

    raise NotBuiltYetError(f"`loom {verb}` is not built yet (issue #{issue})")


def bare_group(group: Any) -> None:
    """A command group run without its subcommand: the help, or with --json one JSON error naming the
    subcommands (exit 2), since a machine asked for an object, not a page."""

    @group.default
    def _bare(*, common: Annotated[Common, Parameter(name="*")] = Common()) -> int:
        if effective(common).json:
            from loom.domain.errors import UsageError

            names = [n for n in group if not n.startswith("-")]
            raise UsageError(f"`loom {group.name[0] if isinstance(group.name, tuple) else group.name}` needs a "
                             f"subcommand: {', '.join(names)}")
        from loom.entrypoints.cli.app import app  # the root: its help names the group as `loom <group>`

        app.help_print([name for name in group.name] if isinstance(group.name, tuple) else [group.name])
        return 0
