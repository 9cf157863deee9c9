"""examples/embed_service.py: POST starts a keyless search in the background, GET reports progress."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from starlette.testclient import TestClient

from loom.api import Loom

ROOT = Path(__file__).resolve().parents[2]


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("loom_example_embed_service", ROOT / "examples" / "embed_service.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    api = Loom({"search_provider": "baseline", "mlops_provider": "local", "home": tmp_path_factory.mktemp("svc")})
    with TestClient(_example().create_app(api)) as test_client:
        yield test_client


def _wait(client: TestClient, job_id: str, seen: list[dict[str, Any]]) -> dict[str, Any]:
    deadline = time.monotonic() + 240  # a guard against hanging, not a speed assertion
    while time.monotonic() < deadline:
        view = client.get(f"/searches/{job_id}").json()
        seen.append(view)
        if view["status"] != "RUNNING":
            return view
        time.sleep(0.1)
    raise AssertionError(f"search {job_id} still running: {seen[-1]}")


def test_post_starts_a_search_and_get_reports_progress_then_the_leaderboard(client: TestClient) -> None:
    started = client.post("/searches", json={"steps": 2, "goal": "Predict churn"})
    assert started.status_code == 202 and started.json()["status"] == "RUNNING"
    job_id = started.json()["id"]
    seen: list[dict[str, Any]] = []
    final = _wait(client, job_id, seen)
    assert final["status"] == "OK", final
    assert final["finished_nodes"] == 2 and final["run_id"] and len(final["leaderboard"]) == 2
    assert final["best"]["selection"] is not None and final["best_holdout_so_far"] is not None
    assert seen[0]["status"] == "RUNNING"  # answered while the search ran in the background
    listed = client.get("/searches").json()["searches"]
    assert [s["id"] for s in listed].count(job_id) == 1


def test_stop_interrupts_a_running_search(client: TestClient) -> None:
    job_id = client.post("/searches", json={"steps": 6}).json()["id"]
    assert client.post(f"/searches/{job_id}/stop").status_code == 202
    final = _wait(client, job_id, [])
    assert final["status"] == "INTERRUPTED" and final["finished_nodes"] < 6, final


def test_bad_requests_are_refused(client: TestClient) -> None:
    assert client.post("/searches", json={"steps": 0}).status_code == 400
    assert client.post("/searches", content=b"not json").status_code == 400
    assert client.get("/searches/nope").status_code == 404
