"""Loom embedded in a web service: start a keyless search on POST, watch its progress on GET.

    python examples/embed_service.py                       # http://127.0.0.1:8000
    uvicorn --factory examples.embed_service:create_app    # or under your own server

    curl -X POST localhost:8000/searches -d '{"steps": 3}'  # -> 202 {"id": "...", "status": "RUNNING"}
    curl localhost:8000/searches/<id>                      # -> progress, then the leaderboard
    curl -X POST localhost:8000/searches/<id>/stop         # -> stops at the next step (INTERRUPTED)

The search is Loom's keyless one (baseline brain, local executor) on examples/churn, so it needs
no LLM key; with `search_provider: aide` the same code runs AIDE, and the keys come from the
`credentials=` you give `Loom` (a mapping or a vault callable), never from the request.
Searches run in a small thread pool; loom.api is thread-safe, so several may run at once.
Clients choose the goal, metric and steps, never server paths or providers.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from loom.api import Event, Loom, LoomError, SearchResult

DATA = Path(__file__).resolve().parent / "churn"
MAX_STEPS = 20


class SearchJob:
    """One background search: its progress (fed by Loom's events) and, at the end, its result."""

    def __init__(self, job_id: str, steps: int) -> None:
        self.id, self.steps = job_id, steps
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.status = "RUNNING"
        self.run_id: str | None = None
        self.finished_nodes = 0
        self.best_holdout: float | None = None
        self.last_event = ""
        self.error: str | None = None
        self.result: SearchResult | None = None

    def on_event(self, event: Event) -> None:  # called from the search's threads
        with self._lock:
            self.run_id = event.run_id or self.run_id
            self.last_event = event.kind
            if event.kind == "node_finished":
                self.finished_nodes += 1
                if event.holdout_metric is not None and not event.buggy:
                    self.best_holdout = (event.holdout_metric if self.best_holdout is None
                                         else max(self.best_holdout, event.holdout_metric))

    def finish(self, result: SearchResult | None, error: str | None = None) -> None:
        with self._lock:
            self.result, self.error = result, error
            self.status = result.status.value if result is not None else "FAILED"

    def view(self) -> dict[str, Any]:
        with self._lock:
            out: dict[str, Any] = {
                "id": self.id, "status": self.status, "run_id": self.run_id, "steps": self.steps,
                "finished_nodes": self.finished_nodes, "best_holdout_so_far": self.best_holdout,
                "last_event": self.last_event, "error": self.error,
            }
            if self.result is not None:
                summary = self.result.to_dict()
                out.update(best=summary["best"], leaderboard=summary["leaderboard"], usd=summary["usd"],
                           message=summary["message"])
            return out


def create_app(loom: Loom | None = None, *, workers: int = 2) -> Starlette:
    """The service. `loom` defaults to the keyless search configured like the CLI (LOOM_* env)."""
    api = loom or Loom.from_env(search_provider="baseline", mlops_provider="local")
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="loom-search")
    jobs: dict[str, SearchJob] = {}

    def run_job(job: SearchJob, goal: str, metric: str) -> None:
        try:
            result = api.run(data=DATA, goal=goal, metric=metric, steps=job.steps, on_event=job.on_event,
                             stop=job.stop)
        except LoomError as exc:  # a typed error: show its one actionable line
            job.finish(None, exc.line())
        except Exception as exc:  # noqa: BLE001 - a service keeps serving
            job.finish(None, f"{type(exc).__name__}: {exc}")
        else:
            job.finish(result)

    async def start(request: Request) -> JSONResponse:
        try:
            body = await request.json() if await request.body() else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse({"error": "send a JSON object, e.g. {\"steps\": 3}"}, status_code=400)
        steps = body.get("steps", 3)
        if not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
            return JSONResponse({"error": f"steps must be an integer from 1 to {MAX_STEPS}"}, status_code=400)
        job = SearchJob(uuid.uuid4().hex[:12], steps)
        jobs[job.id] = job
        pool.submit(run_job, job, str(body.get("goal") or "Predict churn"),
                    str(body.get("metric") or "Maximize ROC-AUC"))
        return JSONResponse({"id": job.id, "status": job.status}, status_code=202)

    def find(request: Request) -> SearchJob | None:
        return jobs.get(request.path_params["job_id"])

    async def progress(request: Request) -> JSONResponse:
        job = find(request)
        return JSONResponse(job.view()) if job else JSONResponse({"error": "no such search"}, status_code=404)

    async def stop(request: Request) -> JSONResponse:
        job = find(request)
        if job is None:
            return JSONResponse({"error": "no such search"}, status_code=404)
        job.stop.set()
        return JSONResponse({"id": job.id, "stopping": True}, status_code=202)

    async def listing(request: Request) -> JSONResponse:
        return JSONResponse({"searches": [job.view() for job in jobs.values()]})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for job in jobs.values():  # on shutdown: stop running searches (their journals are saved)
            job.stop.set()
        pool.shutdown(wait=True)

    return Starlette(
        routes=[
            Route("/searches", start, methods=["POST"]),
            Route("/searches", listing, methods=["GET"]),
            Route("/searches/{job_id}", progress, methods=["GET"]),
            Route("/searches/{job_id}/stop", stop, methods=["POST"]),
        ],
        lifespan=lifespan,
    )


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=8000)
