"""The MCP catalog: one tool per verb, schemas from the CLI signatures, tiers and annotations."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from loom.api import Loom
from loom.application.config import LoomConfig
from loom.domain.errors import UsageError
from loom.entrypoints.cli.app import VERBS
from loom.entrypoints.mcp_server import catalog
from loom.entrypoints.mcp_server.http import parse_address, presented_key
from loom.entrypoints.mcp_server.schema import argument_model, cli_command, cli_flags, input_schema

API_ONLY = {"on_event", "stop", "on_progress", "on_stage", "self"}


def test_every_verb_is_one_tool() -> None:
    tools = {s.name for s in catalog.SPECS}
    assert {verb for verb, _, _ in VERBS} | {"config"} == tools
    for verb, target, _ in VERBS:  # the tool runs the very command the CLI registers
        assert catalog.spec(verb).target == target


@pytest.mark.parametrize("spec", catalog.SPECS, ids=lambda s: s.name)
def test_schema_is_the_cli_signature(spec: catalog.ToolSpec) -> None:
    fn = cli_command(spec.target)
    params = [p for p in inspect.signature(fn).parameters if p != "common"]
    flags = cli_flags(fn, spec.omit)
    assert [f.name for f in flags] == [p for p in params if p not in spec.omit]
    schema = input_schema(argument_model(spec.name, flags))
    assert schema["additionalProperties"] is False
    for f in flags:
        prop = schema["properties"][f.name]
        assert prop["description"].startswith(f.help) and f.help  # every flag documented, same words as --help
        required = f.default is inspect.Parameter.empty
        assert (f.name in schema.get("required", [])) == required
        if not required and f.default is not None:
            assert prop["default"] == (str(f.default) if isinstance(f.default, Path) else f.default)


@pytest.mark.parametrize("verb", ["run", "ingest", "eda", "features", "validate", "report", "ops", "deploy",
                                  "pipeline", "train", "datasets", "runs", "show", "card"])
def test_the_api_names_the_same_inputs_as_the_cli(verb: str) -> None:
    """loom.api methods take a subset of the verb's flags, under the same names."""
    api = set(inspect.signature(getattr(Loom, verb)).parameters) - API_ONLY
    cli = {f.name for f in cli_flags(cli_command(catalog.spec(verb).target))}
    assert api <= cli, api - cli


def test_deploy_keeps_its_validate_flag_name() -> None:
    spec = catalog.spec("deploy")
    model = argument_model("deploy", cli_flags(cli_command(spec.target), spec.omit))
    assert "validate" in input_schema(model)["properties"]
    assert model.model_validate({"validate": "ValidateFlow/2"}).model_dump_one_level()["validate"] == "ValidateFlow/2"


def test_tiers_of_calls() -> None:
    config = LoomConfig.model_construct(search_provider="aide", home=Path("/nonexistent"))
    run = catalog.spec("run")
    assert run.call_tier({"search": "baseline"}, config) == "compute"
    assert run.call_tier({"search": "aide"}, config) == "spend"
    assert run.call_tier({}, config) == "spend"  # the configured brain decides
    assert run.call_tier({"search": "no-such-brain"}, config) == "compute"  # the verb then refuses the name
    assert catalog.spec("deploy").call_tier({"apply": True}, config) == "gated"
    assert catalog.spec("deploy").call_tier({"apply": False}, config) == "compute"
    assert catalog.spec("train").call_tier({"launch": True}, config) == "gated"
    assert catalog.spec("plan").call_tier({}, config) == "spend"
    assert catalog.spec("datasets").call_tier({}, config) == "read"


def test_allow_widens_the_default_tiers() -> None:
    assert catalog.parse_tiers(None) == ("read", "compute")
    assert catalog.parse_tiers("gated, spend") == ("read", "compute", "spend", "gated")
    assert catalog.parse_tiers("all") == catalog.TIERS
    with pytest.raises(UsageError, match="unknown tier"):
        catalog.parse_tiers("spent")


def test_annotations_say_what_this_server_allows() -> None:
    deploy, plan, show = catalog.spec("deploy"), catalog.spec("plan"), catalog.spec("show")
    assert catalog.annotations_for(deploy, ("read", "compute"))["destructiveHint"] is False
    assert catalog.annotations_for(deploy, catalog.TIERS)["destructiveHint"] is True
    assert catalog.annotations_for(plan, catalog.TIERS)["openWorldHint"] is True
    view = catalog.annotations_for(show, ("read",))
    assert view["readOnlyHint"] and view["idempotentHint"] and not view["destructiveHint"]
    for spec in catalog.SPECS:  # a view never claims to be destructive; a writer never claims read-only
        hints = catalog.annotations_for(spec, catalog.TIERS)
        assert not (hints["readOnlyHint"] and hints["destructiveHint"])
        if spec.tier == "read":
            assert hints["readOnlyHint"]


def test_http_address_is_loopback_only() -> None:
    assert parse_address("127.0.0.1:8765") == ("127.0.0.1", 8765)
    assert parse_address("[::1]:0") == ("::1", 0)
    assert parse_address("localhost:9") == ("127.0.0.1", 9)
    for bad in ("0.0.0.0:1", "10.0.0.2:80", "example.com:80", "127.0.0.1", "127.0.0.1:99999"):
        with pytest.raises(UsageError):
            parse_address(bad)


def test_presented_key_reads_bearer_or_x_api_key() -> None:
    assert presented_key({"headers": [(b"authorization", b"Bearer abc")]}) == b"abc"
    assert presented_key({"headers": [(b"x-api-key", b"xyz")]}) == b"xyz"
    assert presented_key({"headers": [(b"authorization", b"Basic abc")]}) is None
    assert presented_key({"headers": []}) is None
