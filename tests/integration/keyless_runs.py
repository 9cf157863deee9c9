"""Shared by the metric end-to-end tests: one keyless `loom run` on generated data, and reading
back what a node predicted for the sealed rows (to recompute every grade Loom reports)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest

from loom.entrypoints.cli.app import main


def binary(n: int, seed: int, *, bias: float = -0.5) -> pd.DataFrame:
    """A yes/no target from two numbers and a category (`bias` sets the 'yes' share)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    c = rng.choice(["a", "b", "c"], n)
    logit = 1.5 * x1 - x2 + (c == "a") + bias
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return pd.DataFrame({"id": np.arange(n) + 1000 * seed, "x1": x1.round(4), "x2": x2.round(4), "c": c, "y": y})


def regression(n: int, seed: int, *, shift: float = 0.0, decimals: int = 2) -> pd.DataFrame:
    """A non-negative target (clipped at 0, so exact zeros occur unless `shift` lifts it), rounded."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    c = rng.choice(["a", "b", "c"], n)
    y = np.maximum(0.0, 3 * x1 + 2 * x2 + 2 * (c == "a") + shift + rng.normal(0, 1, n)).round(decimals)
    return pd.DataFrame({"id": np.arange(n) + 1000 * seed, "x1": x1.round(4), "x2": x2.round(4), "c": c, "y": y})


def sealed(run_dir: Path) -> Path:
    from loom.application.run_search.artifacts import RunStore

    return RunStore(run_dir.parents[1], run_dir.name).sealed_dir


def graded(run_dir: Path, node_id: str, slice_name: str, *, numbers: bool) -> tuple[np.ndarray, np.ndarray]:
    """(sealed labels, the node's predictions for those rows), matched on the id; predictions as
    numbers, or as the files spell them."""
    labels = pd.read_csv(sealed(run_dir) / f"{slice_name}.csv", dtype={"y": str})
    preds = pd.read_csv(run_dir / "nodes" / node_id / "submission.csv", dtype=None if numbers else {"y": str})
    picked = preds.set_index("id")["y"].loc[labels["id"]]
    return labels["y"].to_numpy(), picked.to_numpy(dtype=float) if numbers else picked.to_numpy()


def family(run_dir: Path, node_id: str) -> str:
    """The model family a baseline candidate states on its first line ("Loom baseline candidate: linear {}.")."""
    first = (run_dir / "nodes" / node_id / "runfile.py").read_text().splitlines()[0]
    return first.split("candidate: ")[1].split()[0]


def run_keyless(sentence: str, make: Callable[[int, int], pd.DataFrame], tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch, goal: str = "Predict y") -> tuple[dict[str, Any], pd.DataFrame]:
    """`loom run --search baseline --mlops local --steps 2 --json` on make(400, 0) with make(60, 1) as
    test.csv: (the JSON, the user's test rows)."""
    data = tmp_path / "data"
    data.mkdir(parents=True)
    make(400, 0).to_csv(data / "train.csv", index=False)
    user_test = make(60, 1).drop(columns="y")
    user_test.to_csv(data / "test.csv", index=False)
    monkeypatch.setenv("LOOM_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    with pytest.raises(SystemExit) as exc:
        main(["run", "--search", "baseline", "--mlops", "local", "--data", str(data), "--goal", goal,
              "--metric", sentence, "--steps", "2", "--json"])
    monkeypatch.undo()
    payload = json.loads(out.getvalue())
    assert (exc.value.code or 0) == 0 and payload["status"] == "OK", payload
    return payload, user_test


def check_grades(payload: dict[str, Any], name: str, reference: Callable[[np.ndarray, np.ndarray], float], *,
                 numbers: bool) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    """Every selection grade and the final estimate = `reference` recomputed from the nodes' own
    submissions (2 nodes: the dummy floor and the linear model). (the rows, final truth, final preds)."""
    assert payload["estimate"]["metric"] == name and payload["nodes"] == 2
    run_dir = Path(payload["run_dir"])
    rows = [r for r in payload["leaderboard"] if not r["buggy"]]
    assert len(rows) == 2  # the dummy floor and the linear model
    for row in rows:  # Loom's selection grade = the metric recomputed from the node's own submission
        truth, pred = graded(run_dir, row["node_id"], "selection", numbers=numbers)
        assert row["selection"] == pytest.approx(reference(truth, pred), rel=1e-9)
    best, estimate = payload["best"], payload["estimate"]
    assert estimate["node_id"] == best["node_id"]
    truth, pred = graded(run_dir, best["node_id"], "final", numbers=numbers)
    assert estimate["value"] == pytest.approx(reference(truth, pred), rel=1e-9)
    assert estimate["low"] <= estimate["value"] <= estimate["high"] and estimate["rows"] == len(truth)
    return rows, truth, pred
