"""Warm candidates: one candidate through the local executor, cold (a fresh interpreter) vs warm (forked).

Three candidates on wine (scikit-learn's load_wine written to train/test CSVs): a trivial one
(`print`), a pandas one (reads both CSVs, writes a submission), and the baseline brain's own
dummy candidate (pandas + scikit-learn pipeline, validation split, refit, submission). Each runs
under every sandbox that works here (none, and bwrap when bubblewrap can run), cold
(LOOM_EXEC_WARM=off) and warm (on), interleaved (the order alternates every round) so both see
the same machine. A time is the whole `LocalMLOps.execute` call: workspace, sandbox, the
candidate, collecting its result. The first round is dropped (page cache, and the fork server
importing the stack, which a run pays once, in the background, while the brain writes its first
candidate). Prints medians, the cold/warm ratio, the fork server's footprint and the load
average. Target: the dummy candidate on wine well under 0.3 s warm.

Run:  .venv/bin/python bench/warm_candidates.py [--repeats 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

PANDAS = (
    "import pandas as pd\n"
    "train, test = pd.read_csv('input/train.csv'), pd.read_csv('input/test.csv')\n"
    "pd.DataFrame({'id': test['id'], 'target': train['target'].mode()[0]}).to_csv('working/submission.csv', index=False)\n"
    "print('Validation metric:', round(float((train['target'] == train['target'].mode()[0]).mean()), 4))\n"
)


def wine_input(folder: Path) -> Path:
    """load_wine as ./input: train.csv (with target) and test.csv (without), a 75/25 split."""
    from sklearn.datasets import load_wine
    from sklearn.model_selection import train_test_split

    frame = load_wine(as_frame=True).frame
    frame.insert(0, "id", range(len(frame)))
    train, test = train_test_split(frame, test_size=0.25, random_state=0, stratify=frame["target"])
    folder.mkdir(parents=True, exist_ok=True)
    train.to_csv(folder / "train.csv", index=False)
    test.drop(columns=["target"]).to_csv(folder / "test.csv", index=False)
    return folder


def candidates() -> dict[str, str]:
    from loom.adapters.search.baseline_script import render

    dummy = render({"family": "dummy", "params": {}, "target": "target", "id_column": "id", "metric": "accuracy",
                    "task_type": "classification", "seed": 0})
    return {"trivial": "print('Validation metric: 0.5')\n", "pandas read": PANDAS, "baseline dummy": dummy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="loom-bench-warm-"))
    try:
        measure(args, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def measure(args: argparse.Namespace, home: Path) -> None:
    from loom.adapters import sandbox as sandboxes
    from loom.adapters.mlops.local import LocalMLOps
    from loom.application.config import LoomConfig
    from loom.application.ports.mlops import ExecRequest

    inputs = wine_input(home / "wine")
    kinds = ["none"] + (["bwrap"] if sandboxes.probe()[0] else [])
    if "bwrap" not in kinds:
        print("bubblewrap cannot run here: measuring `none` only (apt-get install -y bubblewrap)")
    executors = {(sb, mode): LocalMLOps(LoomConfig.load(env_file=None, flags={
        "home": str(home), "sandbox": sb, "exec_warm": mode == "warm"})) for sb in kinds for mode in ("cold", "warm")}
    pool = executors[(kinds[0], "warm")].warm_pool(Path(tempfile.gettempdir()))
    assert pool is not None
    t0 = time.perf_counter()
    if not pool.ready():
        sys.exit("the fork server did not become ready")
    warmup = time.perf_counter() - t0

    load_before = os.getloadavg()
    times: dict[tuple[str, str, str], list[float]] = {}
    forked = pool.forked
    for name, code in candidates().items():
        for sb in kinds:
            for i in range(args.repeats + 1):
                for mode in (("cold", "warm") if i % 2 else ("warm", "cold")):
                    started = time.perf_counter()
                    result = executors[(sb, mode)].execute(ExecRequest(
                        code=code, input_dir=inputs, timeout=300, run_id="bench", node_id=uuid.uuid4().hex))
                    elapsed = time.perf_counter() - started
                    if not result.ok:
                        sys.exit(f"{name} ({sb}, {mode}) failed: {result.exc_type} {result.stderr[-800:]}")
                    if i:
                        times.setdefault((name, sb, mode), []).append(elapsed)
    load_after = os.getloadavg()
    runs = len(candidates()) * len(kinds) * (args.repeats + 1)
    if pool.forked - forked != runs:
        sys.exit(f"only {pool.forked - forked} of {runs} warm runs were forked (declined {pool.declined})")

    rows = []
    print(f"{'candidate':<16}{'sandbox':<9}{'cold s':>9}{'warm s':>9}{'cold/warm':>11}")
    for name in candidates():
        for sb in kinds:
            cold, hot = (statistics.median(times[(name, sb, mode)]) for mode in ("cold", "warm"))
            rows.append({"candidate": name, "sandbox": sb, "cold_s": cold, "warm_s": hot, "ratio": cold / hot})
            print(f"{name:<16}{sb:<9}{cold:>9.3f}{hot:>9.3f}{cold / hot:>10.1f}x")
    info = pool.info
    print(f"medians of {args.repeats}, interleaved; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after"
          f" ({os.cpu_count()} cores)")
    print(f"fork server: ready {warmup:.1f} s after the first request, RSS {info.get('vm_rss')}, "
          f"{len(info.get('loaded', []))} modules preloaded, {info.get('threads')} thread(s) before forking")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "repeats": args.repeats, "warmup_s": warmup,
                                         "fork_server": {k: info.get(k) for k in ("vm_rss", "threads", "loaded")},
                                         "loadavg": [load_before[0], load_after[0]]}, indent=1))


if __name__ == "__main__":
    main()
