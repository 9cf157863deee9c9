"""Hostile names in the human (rich) output of real verbs: shown as text, no terminal control.

A dataset name, a folder and columns named with rich markup (`[/bold]`, `[link=...]`) and
terminal escapes (OSC 52 clipboard write, CSI 2J clear screen): `loom ingest` and `loom eda`
exit 0 (a `[/bold]` made them exit 1 with MarkupError after the run was stored), print no ESC
byte, and show the names as text.
"""

from __future__ import annotations

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("metaflow")
pytest.importorskip("sklearn")

from loom.entrypoints.cli.app import main  # noqa: E402

pytestmark = pytest.mark.slow

BOLD = "a[/bold]b"
LINK = "[link=http://e.x/]click[/link]"
OSC52 = "c\x1b]52;c;ZXZpbA==\x07d"
CLEAR = "e\x1b[2Jf"
NAME = "n[/bold]\x1b]0;TITLE\x1b\\\x1b[2J[link=http://e.x/]x[/link]"


def _loom(capsys, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out + err


def test_ingest_and_eda_show_markup_and_escapes_in_names_as_text(metaflow_bed, tmp_path, capsys, monkeypatch) -> None:
    import random

    monkeypatch.setenv("LOOM_HOME", str(metaflow_bed["home"]))
    rnd = random.Random(3)
    rows = []
    for i in range(200):
        y = int(rnd.random() < 0.4)
        rows.append({"rid": i, BOLD: rnd.gauss(y, 1), LINK: rnd.random(), OSC52: y, CLEAR: rnd.choice(["u", "v"]),
                     "y": y})
    folder = tmp_path / "data\x1b]0;TITLE\x07\x1b[2J"  # shown in the spinner
    folder.mkdir()
    pd.DataFrame(rows).to_csv(folder / "train.csv", index=False)

    code, shown = _loom(capsys, "ingest", "--source", str(folder), "--target", "y", "--name", NAME)
    assert code == 0, shown
    assert "\x1b" not in shown and "\x07" not in shown and "MarkupError" not in shown, repr(shown)
    assert "n[/bold]" in shown and "[link=http://e.x/]x[/link]" in shown, shown  # the name, as text
    pathspec = next(w for w in shown.split() if w.startswith("IngestDataset/"))

    code, shown = _loom(capsys, "eda", "--dataset", pathspec)
    assert code == 0, shown
    assert "\x1b" not in shown and "\x07" not in shown and "MarkupError" not in shown, repr(shown)
    assert "c]52;c;ZXZpbA==d" in shown, shown  # the copy of the target, flagged: its name without the escapes
    assert BOLD in shown and LINK in shown and "e[2Jf" in shown, shown
