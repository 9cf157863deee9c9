"""Search-loop overhead: Loom's AIDE brain on the local executor vs a bare AIDE Interpreter loop.

Both loops use the same zero-latency in-process fake LLM (tests/fakes/llm_replies: the same
trivial stdlib candidate, the same deterministic judge) on the same data (examples/churn), so
the difference is Loom's own per-step cost: the isolated workspace copy, the child process,
holdout grading, the journal/corpus writes, the metering and events. Then `--workers 2` vs 1
throughput on drafts. Prints a table of ratios (and writes JSON with --json PATH).

Run:  .venv/bin/python bench/search_overhead.py [--steps 6] [--repeats 2] [--json out.json]
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
GOAL, METRIC = "Predict churn", "Maximize ROC-AUC"


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
        return llm_replies.default_text(prompt)

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


def loom_run(steps: int, work: Path, workers: int) -> float:
    """RunSearch with the AIDE brain and the local executor, fake model ports (0 ms)."""
    from loom.adapters.mlops.local import LocalMLOps
    from loom.adapters.search.aide import AideSearch
    from loom.application.config import LoomConfig
    from loom.application.run_search import RunRequest, RunSearch

    config = LoomConfig.load(env_file=None, flags={
        "home": str(work / f"home_w{workers}_{time.monotonic_ns()}"), "budget_steps": steps,
        "budget_num_drafts": steps, "budget_debug_prob": 0.0, "workers": workers, "exec_timeout": 60})
    use_case = RunSearch(config, AideSearch(config), LocalMLOps(config),
                         code_model=lambda: FakeModel("code"), feedback_model=lambda: FakeModel("judge"))
    started = time.perf_counter()
    result = use_case(RunRequest(data=DATA, goal=GOAL, metric=METRIC))
    elapsed = time.perf_counter() - started
    assert result.status.value == "OK" and len(result.nodes) == steps, result.to_dict()
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("ANTHROPIC_API_KEY", "bench-fake-key")  # the preflight checks presence only
    work = Path(tempfile.mkdtemp(prefix="loom_bench_search_"))
    try:
        from loom.adapters.search import aide_bridge

        aide_bridge.install_dispatch()  # import aide once, outside the timings
        rows: dict[str, float] = {}
        for name, fn in (("bare AIDE Interpreter loop", lambda i: bare_aide(args.steps, work / f"b{i}")),
                         ("Loom RunSearch, workers=1", lambda i: loom_run(args.steps, work / f"l{i}", 1)),
                         ("Loom RunSearch, workers=2", lambda i: loom_run(args.steps, work / f"w{i}", 2))):
            times = []
            for i in range(args.repeats):
                (work / f"{name[:4]}{i}").mkdir(parents=True, exist_ok=True)
                times.append(fn(i))
            rows[name] = min(times)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bare, one, two = rows.values()
    per = {k: v / args.steps for k, v in rows.items()}
    print(f"\nsearch overhead: {args.steps} steps, best of {args.repeats}, zero-latency fake LLM, examples/churn\n")
    print(f"{'loop':<30} {'total s':>9} {'s/step':>8} {'ratio':>7}")
    for name, total in rows.items():
        print(f"{name:<30} {total:9.2f} {per[name]:8.3f} {total / bare:7.2f}")
    print(f"\nLoom per-step overhead vs bare AIDE: {per['Loom RunSearch, workers=1'] - per['bare AIDE Interpreter loop']:+.3f} s/step"
          f" (ratio {one / bare:.2f})")
    print(f"--workers 2 vs 1 throughput: {one / two:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"steps": args.steps, "seconds": rows, "per_step": per,
                                         "ratio_loom_vs_bare": one / bare, "workers2_speedup": one / two}, indent=1))


if __name__ == "__main__":
    main()
