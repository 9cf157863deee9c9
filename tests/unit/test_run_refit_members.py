"""Which ensemble members a refit runs: those the combination weighted, when it says so."""

from __future__ import annotations

import json
from pathlib import Path

from loom.application.run_search.refit import weighted_members


def test_only_members_with_a_weight_are_refit(tmp_path: Path) -> None:
    (tmp_path / "ensemble.json").write_text(json.dumps({"members": [
        {"node_id": "a", "weight": 0.7}, {"node_id": "b", "weight": 0.3}, {"node_id": "c", "weight": 0.0}]}))
    assert weighted_members(tmp_path) == {"a", "b"}


def test_a_combination_that_says_nothing_readable_refits_every_member(tmp_path: Path) -> None:
    assert weighted_members(None) is None
    assert weighted_members(tmp_path) is None  # no ensemble.json
    for text in ("{not json", json.dumps({"members": "a,b"}), json.dumps({"members": []}),
                 json.dumps({"members": [{"weight": 1}]}), json.dumps([1, 2])):
        (tmp_path / "ensemble.json").write_text(text)
        assert weighted_members(tmp_path) is None, text
