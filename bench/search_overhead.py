"""Search-loop overhead: Loom's AIDE brain on the local executor vs a bare AIDE Interpreter loop.

Both loops use the same zero-latency in-process fake LLM (tests/fakes/llm_replies: the same
trivial stdlib candidate, the same deterministic judge) on the same data (examples/churn), so
the difference is Loom's own per-step cost: the isolated workspace copy, the child process,
holdout grading, the journal/corpus writes, the metering and events. Then `--workers 2` vs 1
throughput on the whole tree search (2 drafts, then improves and debugs: aide's policy with
debug_prob 0.5), on CPU-light candidates, two ways: the whole run (task preparation, the leak
screen, the first candidate's start and the final estimate included: fixed costs per run that no
worker count changes) and the steady state (candidates finished per second from the first
result to the last, which is what --workers buys). Medians of --repeats runs, side by side, with
the load average. Prints a table of ratios (and writes JSON with --json PATH).

Target (issue 16): --workers 2 >= 1.6x the throughput of 1 on 2 cores, never slower.

Run:  .venv/bin/python bench/search_overhead.py [--steps 8] [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.fakes import llm_replies  # noqa: E402
from tests.fakes.fake_model import FakeModel  # noqa: E402

DATA = ROOT / "examples" / "churn"


class VaryingCode(FakeModel):
    """The fake code writer, with a different comment in every reply (as a real LLM's code is
    different every step), so nothing Loom or aide caches by the code's text hides real work."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.count = 0

    def complete(self, request):  # noqa: ANN001, ANN201
        from dataclasses import replace

        response = super().complete(request)
        if response.text and "```python\n" in response.text:
            with self._lock:
                self.count += 1
                n = self.count
            response = replace(response, text=response.text.replace("```python\n", f"```python\n# reply {n}\n", 1))
        return response
GOAL, METRIC = "Predict churn", "Maximize ROC-AUC"
STEADY: dict[tuple[int, int | None], list[float]] = {}  # candidates/s from the first result to the last, per case


def bare_aide(steps: int, work: Path) -> float:
    """AIDE's own loop: Agent.step(exec_callback=Interpreter.run), query patched to the fake."""
    from aide.interpreter import Interpreter
    from aide.journal import Journal

    from loom.adapters.search import aide_bridge

    agent_module = aide_bridge.install_dispatch()
    task_dir = work / "bare"
    shutil.copytree(DATA, task_dir / "input", ignore=shutil.ignore_patterns("*.py"))
    (task_dir / "working").mkdir()
    cfg = aide_bridge.build_config(
        goal=GOAL, task_dir=task_dir, log_dir=work / "bare_logs", exec_timeout=60, steps=steps,
        num_drafts=steps, debug_prob=0.0, max_debug_depth=1, code_model="fake", feedback_model="fake",
        code_temp=0.5, feedback_temp=0.5)

    def fake_query(system_message=None, user_message=None, func_spec=None, **_):  # noqa: ANN001, ANN202
        from aide.backend.utils import compile_prompt_to_md

        prompt = compile_prompt_to_md(system_message) if system_message else ""
        if func_spec is not None:
            return aide_bridge.normalize_review(llm_replies.default_tool_args(func_spec.json_schema, prompt), True)
        fake_query.count += 1  # type: ignore[attr-defined]
        return llm_replies.default_text(prompt).replace("```python\n", f"```python\n# reply {fake_query.count}\n", 1)  # type: ignore[attr-defined]

    fake_query.count = 0  # type: ignore[attr-defined]

    saved = agent_module.query
    agent_module.query = fake_query
    try:
        agent = agent_module.Agent(task_desc=GOAL, cfg=cfg, journal=Journal())
        interpreter = Interpreter(task_dir, timeout=60, agent_file_name="runfile.py", format_tb_ipython=False)
        started = time.perf_counter()
        for _ in range(steps):
            agent.step(exec_callback=interpreter.run)
        elapsed = time.perf_counter() - started
        interpreter.cleanup_session()
    finally:
        agent_module.query = saved
    return elapsed


def loom_run(steps: int, work: Path, workers: int, drafts: int | None = None) -> float:
    """RunSearch with the AIDE brain and the local executor, fake model ports (0 ms)."""
    from loom.adapters.mlops.local import LocalMLOps
    from loom.adapters.search.aide import AideSearch
    from loom.application.config import LoomConfig
    from loom.application.run_search import RunRequest, RunSearch

    config = LoomConfig.load(env_file=None, flags={
        "home": str(work / f"home_w{workers}_{time.monotonic_ns()}"), "budget_steps": steps,
        "budget_num_drafts": drafts or steps, "budget_debug_prob": 0.0 if drafts is None else 0.5,
        "workers": workers, "exec_timeout": 60})
    use_case = RunSearch(config, AideSearch(config), LocalMLOps(config),
                         code_model=lambda: VaryingCode("code"), feedback_model=lambda: FakeModel("judge"))
    started = time.perf_counter()
    result = use_case(RunRequest(data=DATA, goal=GOAL, metric=METRIC))
    elapsed = time.perf_counter() - started
    assert result.status.value == "OK" and len(result.nodes) == steps, result.to_dict()
    done = sorted(n.ctime for n in result.nodes)  # when each candidate's result was recorded
    STEADY.setdefault((workers, drafts), []).append((len(done) - 1) / max(done[-1] - done[0], 1e-9))
    return elapsed


def main(argv: list[str] | None = None) -> None:
    import statistics

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("ANTHROPIC_API_KEY", "bench-fake-key")  # the preflight checks presence only
    work = Path(tempfile.mkdtemp(prefix="loom_bench_search_"))
    load_before = os.getloadavg()
    try:
        from loom.adapters.search import aide_bridge

        aide_bridge.install_dispatch()  # import aide once, outside the timings
        cases = {
            "bare AIDE Interpreter loop": lambda i: bare_aide(args.steps, work / f"b{i}"),
            "Loom RunSearch, workers=1": lambda i: loom_run(args.steps, work / f"l{i}", 1),
            "Loom tree search, workers=1": lambda i: loom_run(args.steps, work / f"t{i}", 1, drafts=2),
            "Loom tree search, workers=2": lambda i: loom_run(args.steps, work / f"w{i}", 2, drafts=2),
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for i in range(args.repeats):  # interleaved, so a change in load hits every case alike
            for name, fn in cases.items():
                (work / f"{name[:4]}{i}").mkdir(parents=True, exist_ok=True)
                samples[name].append(fn(i))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()
    rows = {name: statistics.median(times) for name, times in samples.items()}
    bare, one = rows["bare AIDE Interpreter loop"], rows["Loom RunSearch, workers=1"]
    tree1, tree2 = rows["Loom tree search, workers=1"], rows["Loom tree search, workers=2"]
    per = {k: v / args.steps for k, v in rows.items()}
    print(f"\nsearch overhead: {args.steps} steps, median of {args.repeats}, zero-latency fake LLM, examples/churn\n")
    print(f"{'loop':<30} {'total s':>9} {'s/step':>8} {'x bare':>7}")
    for name, total in rows.items():
        print(f"{name:<30} {total:9.2f} {per[name]:8.3f} {total / bare:7.2f}")
    print(f"\nLoom per-step overhead vs bare AIDE: {per['Loom RunSearch, workers=1'] - per['bare AIDE Interpreter loop']:+.3f} s/step"
          f" (ratio {one / bare:.2f})")
    speedups = [a / b for a, b in zip(samples["Loom tree search, workers=1"], samples["Loom tree search, workers=2"])]
    print(f"--workers 2 vs 1, whole run (drafts, improves, debugs; fixed costs included): {tree1 / tree2:.2f}x "
          f"(per-repeat {min(speedups):.2f}-{max(speedups):.2f}x)")
    one_s, two_s = STEADY[(1, 2)], STEADY[(2, 2)]
    steady = [b / a for a, b in zip(one_s, two_s)]
    print(f"--workers 2 vs 1, steady-state throughput (candidates/s, first result to last): "
          f"{statistics.median(two_s) / statistics.median(one_s):.2f}x ({statistics.median(one_s):.1f} vs "
          f"{statistics.median(two_s):.1f}/s; per-repeat {min(steady):.2f}-{max(steady):.2f}x; "
          f"target >= 1.6x, never < 1.0x)")
    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} on {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps({"steps": args.steps, "seconds": rows, "samples": samples, "per_step": per,
                                         "ratio_loom_vs_bare": one / bare, "workers2_speedup": tree1 / tree2,
                                         "steady_per_s": {"workers1": one_s, "workers2": two_s},
                                         "load_before": load_before, "load_after": load_after}, indent=1))


if __name__ == "__main__":
    main()
