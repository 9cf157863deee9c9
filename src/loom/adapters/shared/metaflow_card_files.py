"""The HTML cards of a run, as files: read from the embedded datastore, or fetched with Metaflow's
`get_cards` from any other (S3, a metadata service) into LOOM_HOME/cards (`loom card`, `show`)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from loom.adapters.shared.metaflow_runtime import client, datastore_root, embedded, get_run
from loom.domain.pathspec import Pathspec

if TYPE_CHECKING:
    from loom.application.config import LoomConfig


def card_files(config: "LoomConfig", pathspec: str, *, wait: bool = True) -> list[Path]:
    """On-disk HTML cards of a run (embedded datastore); elsewhere fetched via get_cards."""
    run = get_run(config, pathspec, wait=wait)
    spec = Pathspec.parse(pathspec)
    found: list[Path] = []
    if embedded(config):
        store = datastore_root(config) / ".metaflow"
        for base in (store / spec.flow / "runs" / spec.run_id, store / "mf.cards" / spec.flow / "runs" / spec.run_id):
            found += base.glob("steps/*/tasks/*/cards/*.html")
        if found:
            found.sort(key=lambda p: p.stat().st_mtime)
            return found
    out_dir = config.home / "cards" / spec.flow / spec.run_id
    with client(config, wait=wait) as mf, _cwd(datastore_root(config) if embedded(config) else Path.cwd()):
        from metaflow.cards import get_cards
        from metaflow.plugins.cards.exception import CardNotPresentException

        for step in run:
            for task in step:
                try:
                    cards = list(get_cards(task))
                except CardNotPresentException:
                    continue
                for i, card in enumerate(cards):
                    out_dir.mkdir(parents=True, exist_ok=True)
                    path = out_dir / f"{step.id}-{task.id}-{i}.html"
                    path.write_text(card.get(), encoding="utf-8")
                    found.append(path)
        del mf
    return found


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)
