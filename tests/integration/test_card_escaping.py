"""Hostile names through real flows: the stored card HTML shows them as text, never as live HTML.

A folder named with a backtick breakout (the dataset name defaults to it), a column named
`<script>...` and a target copy named `x` <img ...> `` (a leakage flag, so it reaches validate's
VERDICT reasons), and a drift batch with a new column named `<img ...>` (ops's "new columns").
Each flow's stored card is decoded (Metaflow embeds its components as base64 JSON in the HTML)
and every Markdown component is rendered as the card renders it (CommonMark with raw HTML on):
only Loom's own tags may come out, and the hostile text must be there, as text.
"""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("metaflow")
pytest.importorskip("sklearn")
markdown_it = pytest.importorskip("markdown_it")

from loom.entrypoints.cli.app import main  # noqa: E402

pytestmark = pytest.mark.slow

NAME = "d` <img src=x onerror=alert(1)> `"  # the folder: a backtick closes a `...` span
LEAK = "x` <img src=x onerror=alert(2)> `"  # a copy of the target: flagged, named in the verdict
SCRIPT = "<script>alert(3)</script>"  # a constant column
NEW = "<img src=x onerror=alert(4)>"  # only in the drift batch
SAFE_TAGS = {"h1", "h2", "h3", "p", "code", "pre", "strong", "em", "ul", "ol", "li", "br", "hr",
             "table", "thead", "tbody", "tr", "th", "td"}


def _frame(n: int, seed: int, extra: bool = False):
    import random

    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        y = int(rnd.random() < 0.4)
        row = {"rid": i, "f1": rnd.gauss(y, 1), "f2": rnd.random(), LEAK: y, SCRIPT: 7, "y": y}
        if extra:
            row[NEW] = rnd.random()
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def bed(metaflow_bed, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("hostile_cards")
    ref, batch = root / NAME, root / "batch"
    ref.mkdir()
    batch.mkdir()
    _frame(300, 1).to_csv(ref / "train.csv", index=False)
    _frame(200, 2, extra=True).to_csv(batch / "train.csv", index=False)
    return dict(root=root, ref=ref, batch=batch, home=metaflow_bed["home"], config=metaflow_bed["config"])


def _cli(capsys, *argv: str, codes: tuple = (0,)) -> dict:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert (exc.value.code or 0) in codes, (out, err)
    return json.loads(out)


def _markdown_sources(pathspec: str, config) -> list[str]:
    from loom.adapters.shared.metaflow_card_files import card_files

    sources: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if node.get("type") == "markdown":
                sources.append(node["source"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    files = card_files(config, pathspec)
    assert files, f"no card for {pathspec}"
    for f in files:
        for blob in re.findall(r'__MF_DATA__\["[^"]+"\] = "([^"]+)"', f.read_text(encoding="utf-8")):
            walk(json.loads(base64.b64decode(blob)))
    return sources


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.add(tag)


def _rendered(sources: list[str]) -> tuple[set[str], str]:
    """The tags the card's Markdown makes, and its visible text."""
    md = markdown_it.MarkdownIt("commonmark").enable("table")
    out = "\n".join(md.render(s) for s in sources)
    parser = _Tags()
    parser.feed(out)
    import html

    return parser.tags, html.unescape(re.sub(r"<[^>]+>", "", out))


def _problems(pathspec: str, config, *expected: str) -> list[str]:
    tags, text = _rendered(_markdown_sources(pathspec, config))
    found = [f"{pathspec}: live HTML in the card: {sorted(tags - SAFE_TAGS)}"] if tags - SAFE_TAGS else []
    # the sink was reached: the hostile text is in the card, as text
    return found + [f"{pathspec}: {payload!r} not shown" for payload in expected if payload not in text]


def test_ingest_validate_and_ops_cards_show_hostile_names_as_text(bed, capsys, monkeypatch) -> None:
    monkeypatch.setenv("LOOM_HOME", str(bed["home"]))
    ds = _cli(capsys, "ingest", "--source", str(bed["ref"]), "--target", "y")
    problems = _problems(ds["pathspec"], bed["config"], NAME)

    val = _cli(capsys, "validate", "--dataset", ds["pathspec"], codes=(0, 1))  # 1: a FAIL verdict (the leak)
    assert any(LEAK in r for r in val["reasons"]), val["reasons"]  # the column name is in a reason
    problems += _problems(val["pathspec"], bed["config"], LEAK, SCRIPT)

    batch = _cli(capsys, "ingest", "--source", str(bed["batch"]), "--target", "y")
    ops = _cli(capsys, "ops", "--dataset", batch["pathspec"], "--reference", ds["pathspec"])
    problems += _problems(ops["pathspec"], bed["config"], NEW)
    assert not problems, "\n".join(problems)
