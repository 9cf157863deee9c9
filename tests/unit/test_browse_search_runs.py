"""A new user's first run is a `loom run` search folder: `loom runs` and `loom show` point at it
instead of "no runs yet" and "is not a pathspec"."""

from __future__ import annotations

from pathlib import Path

import pytest

from loom.entrypoints.cli import app as cli

RUN_ID = "20261203-041245-7cb445"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOOM_HOME", str(tmp_path))
    (tmp_path / "runs" / RUN_ID).mkdir(parents=True)
    (tmp_path / "runs" / RUN_ID / "journal.json").write_text("{}")
    return tmp_path


def test_show_of_a_search_run_id_names_its_folder(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["show", RUN_ID])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "is a search run" in err and str(home / "runs" / RUN_ID) in err and "Traceback" not in err


def test_runs_without_metaflow_runs_names_the_search_folders(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["runs"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("no Metaflow runs yet; ") and str(home / "runs" / RUN_ID) in out
