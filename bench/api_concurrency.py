"""loom.api: what embedding costs, and what two searches in threads buy.

1. The facade's per-call cost: `Loom(config).run(...)` builds a fresh container per call (so
   concurrent calls share no adapter state). Measured: building the container and the
   RunSearch use-case, vs reusing one already built.
2. Two AIDE searches (different providers: anthropic-api and openai-compat) against the local
   fake LLM server, one after the other vs at once in two threads of one process (the
   isolation `tests/integration/test_api_concurrent_aide.py` proves). Candidates run as child
   processes, so threads overlap their executions and LLM waits.

Prints a table of ratios (and writes JSON with --json PATH).

Run:  .venv/bin/python bench/api_concurrency.py [--steps 3] [--repeats 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from loom.api import Loom  # noqa: E402
from tests.fakes.llm_server import FakeLLMServer  # noqa: E402

DATA = ROOT / "examples" / "churn"


def container_cost(n: int = 200) -> tuple[float, float]:
    """(ms per fresh container + use-case, ms per use-case from one reused container)."""
    api = Loom({"search_provider": "baseline", "mlops_provider": "local"})
    start = time.perf_counter()
    for _ in range(n):
        api.container().run_search()
    fresh = (time.perf_counter() - start) / n * 1000
    container = api.container()
    start = time.perf_counter()
    for _ in range(n):
        container.run_search()
    reused = (time.perf_counter() - start) / n * 1000
    return fresh, reused


def _loom(name: str, fake: FakeLLMServer, home: Path, steps: int) -> Loom:
    provider = "anthropic-api" if name == "A" else "openai-compat"
    endpoint = {"anthropic_base_url": fake.base_url} if name == "A" else {"model_base_url": fake.openai_base_url}
    key = {"ANTHROPIC_API_KEY": "sk-ant-bench"} if name == "A" else {"OPENAI_API_KEY": "sk-bench"}
    return Loom({"search_provider": "aide", "mlops_provider": "local", "home": home, "code_provider": provider,
                 "feedback_provider": provider, "code_model": "claude-sonnet-4-5" if name == "A" else "fake-model",
                 "feedback_model": "claude-sonnet-4-5" if name == "A" else "fake-model",
                 "budget_steps": steps, "budget_num_drafts": 1, "exec_timeout": 60, **endpoint}, credentials=key)


def two_searches(fake: FakeLLMServer, work: Path, steps: int, threaded: bool) -> float:
    looms = [_loom(name, fake, work / f"{name}-{threaded}-{time.monotonic_ns()}", steps) for name in "AB"]
    results: list[Any] = []

    def one(api: Loom) -> None:
        results.append(api.run(data=DATA, goal="Predict churn", metric="Maximize ROC-AUC"))

    start = time.perf_counter()
    if threaded:
        threads = [threading.Thread(target=one, args=(api,)) for api in looms]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for api in looms:
            one(api)
    wall = time.perf_counter() - start
    assert [r.status.value for r in results] == ["OK", "OK"], [r.to_dict() for r in results]
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="steps per search")
    parser.add_argument("--repeats", type=int, default=2, help="repeats (median reported)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()

    fresh, reused = container_cost()
    with FakeLLMServer() as fake, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        two_searches(fake, work, 1, threaded=False)  # warm-up: imports aide, the SDKs, sklearn
        seq = statistics.median(two_searches(fake, work, args.steps, threaded=False) for _ in range(args.repeats))
        par = statistics.median(two_searches(fake, work, args.steps, threaded=True) for _ in range(args.repeats))

    rows = [
        ("container + RunSearch per call", f"{fresh:.2f} ms",
         f"{fresh / 1000 / (seq / 2):.2%} of one search (reused container: {reused:.3f} ms)"),
        (f"2 AIDE searches x {args.steps} steps, sequential", f"{seq:.2f} s", "1.00x"),
        (f"2 AIDE searches x {args.steps} steps, 2 threads", f"{par:.2f} s", f"{seq / par:.2f}x faster than sequential"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>10}  ratio")
    for name, value, ratio in rows:
        print(f"{name:<{width}}  {value:>10}  {ratio}")
    if args.json:
        args.json.write_text(json.dumps({"container_ms": fresh, "reused_container_ms": reused,
                                         "sequential_s": seq, "threaded_s": par, "steps": args.steps}, indent=2))


if __name__ == "__main__":
    main()
