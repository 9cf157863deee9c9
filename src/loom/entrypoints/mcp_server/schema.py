"""Tool schemas from the CLI commands' own signatures: one definition for `--help` and MCP.

A CLI command is `def verb(*, flag: Annotated[T, Parameter(help=...)] = default, ...,
common: Common)`. Each flag becomes one tool argument with the same name (the Python name:
`from_eda` for `--from`), type, default and description; `common` (the global flags) and the
flags a tool omits are left out. Unknown arguments are refused, never silently dropped.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

_CLI = "loom.entrypoints.cli."


@dataclass(frozen=True)
class CliFlag:
    """One flag of a CLI command, as a tool argument."""

    name: str  # the Python parameter name (the tool argument's name)
    flag: str  # what the CLI calls it (`--from`), for descriptions
    annotation: Any  # the type without the cyclopts metadata
    default: Any  # inspect.Parameter.empty when required
    help: str
    positional: bool  # positional-only on the CLI (`loom show PATHSPEC`)


def cli_command(target: str) -> Callable[..., Any]:
    """The CLI command function for "module:function" (relative to loom.entrypoints.cli)."""
    module, _, attr = target.partition(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(_CLI + module), attr)
    return fn


def cli_flags(fn: Callable[..., Any], omit: tuple[str, ...] = ()) -> list[CliFlag]:
    """The command's flags (minus `common` and `omit`), with their help text from cyclopts."""
    hints = typing.get_type_hints(fn, include_extras=True)
    flags = []
    for name, param in inspect.signature(fn).parameters.items():
        if name == "common" or name in omit:
            continue
        hint = hints.get(name, Any)
        base, help_text, cli_name = hint, "", "--" + name.replace("_", "-")
        if typing.get_origin(hint) is typing.Annotated:
            base, *meta = typing.get_args(hint)
            for item in meta:
                help_text = getattr(item, "help", None) or help_text
                names = getattr(item, "name", None)
                if names and names[0] != "*":
                    cli_name = names[0]
        flags.append(CliFlag(name, cli_name if param.kind is not param.POSITIONAL_ONLY else name.upper(),
                             base, param.default, help_text,
                             param.kind is inspect.Parameter.POSITIONAL_ONLY))
    return flags


def argument_model(tool: str, flags: list[CliFlag]) -> type[Any]:
    """A pydantic model of the tool's arguments (MCP's ArgModelBase, extra arguments forbidden)."""
    from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase

    class Arguments(ArgModelBase):
        model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    fields: dict[str, Any] = {}
    for f in flags:
        description = f.help + ("" if f.positional or f.flag == "--" + f.name.replace("_", "-") else f" (CLI: {f.flag})")
        # a flag named like a pydantic attribute (`validate`) is stored under `validate_`, sent as `validate`
        key, alias = (f.name + "_", f.name) if hasattr(BaseModel, f.name) else (f.name, None)
        default: dict[str, Any] = {} if f.default is inspect.Parameter.empty else {"default": f.default}
        fields[key] = (f.annotation, Field(alias=alias, description=description, **default))
    model: type[Any] = create_model(f"{tool.title().replace('_', '')}Arguments", __base__=Arguments, **fields)
    return model


def input_schema(model: type[Any]) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(by_alias=True)
    return schema


def output_schema(result: str | None) -> dict[str, Any]:
    """The tool's structured result: the verb's --json object (status first) plus its exit code.

    The named result dataclass lists the fields the object carries; their shapes are the
    verb's (see `loom VERB --json`), so they are described, not constrained.
    """
    properties: dict[str, Any] = {
        "status": {"type": "string", "description": "OK, PLANNED, BUILT, FAILED, INTERRUPTED, REFUSED_*, ..."},
        "exit_code": {"type": "integer", "description": "the CLI's exit code for this result (0 ok, 1 failure, "
                                                         "2 bad input, 3 refused by a gate, 130 interrupted)"},
    }
    if result:
        module, _, attr = result.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        for field in dataclasses.fields(cls):
            properties.setdefault(field.name, {"description": f"{attr}.{field.name}"})
    return {"type": "object", "properties": properties, "required": ["status", "exit_code"],
            "additionalProperties": True}
