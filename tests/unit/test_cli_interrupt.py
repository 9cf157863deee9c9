"""Ctrl-C in any verb, not only `run`: one `loom: interrupted` line, the INTERRUPTED object with
--json, exit 130. cyclopts' default swallows KeyboardInterrupt into a silent sys.exit(130)."""

from __future__ import annotations

import json

import pytest

from loom.application.config import LoomConfig
from loom.entrypoints.cli import app as cli
from loom.entrypoints.cli import providers


def _interrupt(*_args: object, **_kwargs: object) -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize(("argv", "module", "name"), [
    (["doctor"], providers, "load_config"),  # a verb (what it calls: cyclopts may hold the command itself)
    (["--json", "doctor"], providers, "load_config"),
    (["config", "show", "--json"], LoomConfig, "load_with_origins"),  # a group's subcommand
])
def test_ctrl_c_in_any_verb_is_one_line_and_exit_130(argv: list[str], module: object, name: str,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(module, name, _interrupt)
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 130
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines()[-1] == "loom: interrupted"
    if "--json" in argv:
        obj = json.loads(captured.out)
        assert obj["status"] == "INTERRUPTED" and obj["exit_code"] == 130
    else:
        assert captured.out == ""
