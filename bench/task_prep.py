"""Task preparation and grading at 1M rows: columnar (pyarrow + numpy) vs the old csv module.

Writes a seeded churn-like table (1,000,000 train rows, 14 columns, ~84 MB as in issue 16; plus
20,000 test rows) and measures, side by side in one run, each phase in its own fresh interpreter:
- prep: `prepare_task` (read, split, write the candidates' input and the sealed labels; the new
  one also runs the leak screen, in a child process beside it, its imports included; a
  diagnostic line gives the new preparation with the screen off);
- grade: grading one candidate's submission (all ~1.2M test rows) on the sealed rows: the second
  call in the process (the first, with lazy imports, is in the JSON as first_s); the new one grades
  the selection slice.
Peak RSS is the child's whole peak (interpreter and imports included). Targets (issue 16):
prep <= 3 s, grade <= 0.5 s, peak RSS <= 3x the CSV. Medians of --repeats (>= 5).

Run:  .venv/bin/python bench/task_prep.py [--rows 1000000] [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # legacy_csv_prep


def make_data(root: Path, rows: int, test_rows: int = 20_000) -> Path:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    n = rows + test_rows
    frame = pd.DataFrame({
        "customer_id": np.arange(1, n + 1),
        "tenure_months": rng.integers(1, 73, n),
        "contract": rng.choice(["month-to-month", "one-year", "two-year"], n),
        "internet_service": rng.choice(["dsl", "fiber", "none"], n),
        "payment_method": rng.choice(["card", "bank", "check", "e-check"], n),
        "monthly_charges": np.round(rng.normal(65, 20, n), 2),
        "total_charges": np.round(rng.normal(2300, 900, n), 2),
        "support_calls": rng.poisson(1.5, n),
        "region": rng.choice(["north-east", "north-west", "south-east", "south-west", "central"], n),
        "plan": rng.choice(["basic-12m", "plus-24m", "family-12m", "pro-36m"], n),
        "avg_session_min": np.round(rng.gamma(2.0, 7.5, n), 2),
        "referrals": rng.poisson(0.8, n),
        "senior": rng.integers(0, 2, n),
        "churn": rng.integers(0, 2, n),
    })
    data = root / "data"
    data.mkdir()
    frame.iloc[:rows].to_csv(data / "train.csv", index=False)
    frame.iloc[rows:].drop(columns=["churn"]).to_csv(data / "test.csv", index=False)
    return data


# ---- children: one phase in a fresh interpreter ----------------------------------------------------
def _rss_mb() -> float:
    """Peak RSS of this process (VmHWM: unlike ru_maxrss it is not inherited across fork + exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, data: Path, work: Path) -> dict:
    from loom.domain.metrics import parse_metric

    metric = parse_metric("Maximize ROC-AUC")
    if mode in ("prep-new", "prep-io"):
        from loom.application.run_search import sealing, task_prep

        if mode == "prep-io":  # diagnostic: the same preparation with the leak screen switched off
            sealing.Screen.send = lambda self, *a, **k: self.stop()  # type: ignore[method-assign]
        t0 = time.perf_counter()
        task_prep.prepare_task(data, work / "task", work / "sealed", goal="g", metric=metric, seed=0)
        return {"s": time.perf_counter() - t0, "rss_mb": _rss_mb()}
    if mode == "prep-old":
        import legacy_csv_prep

        t0 = time.perf_counter()
        legacy_csv_prep.prepare_task(data, work / "task", work / "sealed", goal="g", metric=metric,
                                     holdout_fraction=0.2, seed=0)
        return {"s": time.perf_counter() - t0, "rss_mb": _rss_mb()}
    if mode == "screen":  # diagnostic: the leak screen's own process on its 5,000-row sample
        from loom.application.evaluation import screen_job
        from loom.application.run_search import sealing

        found = sealing.scan(data / "train.csv", target="churn", time_column=lambda head: None, seed=0)
        found.sample.to_pandas().to_csv(work / "sample.csv", index=False)
        base = _rss_mb()
        t0 = time.perf_counter()
        screen_job.run({"train": str(work / "sample.csv"), "test": None, "target": "churn", "kind": "classification",
                        "id_column": "customer_id", "seed": 0})
        return {"s": time.perf_counter() - t0, "rss_mb": _rss_mb(), "rss_before_mb": base}
    task = _task(work)
    if mode == "grade-new":
        from loom.application.run_search import grading as impl
    else:
        import legacy_csv_prep as impl  # type: ignore[no-redef]
    t0 = time.perf_counter()
    impl.grade(task, work / "sealed", work / "submission.csv")  # the first candidate: lazy imports included
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    impl.grade(task, work / "sealed", work / "submission.csv")  # every later candidate
    return {"s": time.perf_counter() - t0, "first_s": first, "rss_mb": _rss_mb()}


def _task(work: Path):  # type: ignore[no-untyped-def]
    from loom.application.run_search.artifacts import task_from_dict

    return task_from_dict(json.loads((work / "task.json").read_text()))


def _spawn(mode: str, data: Path, work: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--data", str(data), "--work", str(work)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _prepared(mode: str, data: Path, root: Path) -> Path:
    """A prepared task dir with a submission for every test row, for the grading phases."""
    import numpy as np
    import pandas as pd

    from loom.application.run_search.artifacts import task_to_dict

    work = root / mode
    work.mkdir()
    from loom.domain.metrics import parse_metric

    metric = parse_metric("Maximize ROC-AUC")
    if mode == "new":
        from loom.application.run_search import task_prep

        task = task_prep.prepare_task(data, work / "task", work / "sealed", goal="g", metric=metric, seed=0).task
    else:
        import legacy_csv_prep

        task = legacy_csv_prep.prepare_task(data, work / "task", work / "sealed", goal="g", metric=metric,
                                            holdout_fraction=0.2, seed=0)
    (work / "task.json").write_text(json.dumps(task_to_dict(task)))
    ids = pd.read_csv(work / "task" / "input" / "test.csv", usecols=[task.id_column])[task.id_column]
    pd.DataFrame({task.id_column: ids, task.target: np.random.default_rng(1).random(len(ids)).round(6)}).to_csv(
        work / "submission.csv", index=False)
    return work


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.data, args.work)))
        return 0
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="loom-bench-prep-") as tmp:
        root = Path(tmp)
        data = make_data(root, args.rows)
        csv_mb = (data / "train.csv").stat().st_size / 1e6
        graded = {"new": _prepared("new", data, root), "old": _prepared("old", data, root)}
        runs: dict[str, list[dict]] = {m: [] for m in ("prep-old", "prep-new", "prep-io", "screen", "grade-old",
                                                       "grade-new")}
        for i in range(args.repeats):
            for mode in runs:  # interleaved: old and new see the same machine
                if mode.startswith("prep") or mode == "screen":
                    work = root / f"{mode}-{i}"
                    work.mkdir()
                    runs[mode].append(_spawn(mode, data, work))
                    subprocess.run(["rm", "-rf", str(work)], check=True)
                else:
                    runs[mode].append(_spawn(mode, data, graded[mode.split("-")[1]]))
    load_after = os.getloadavg()
    table = []
    for phase, target_s in (("prep", 3.0), ("grade", 0.5)):
        old, new = runs[f"{phase}-old"], runs[f"{phase}-new"]
        o_s, n_s = statistics.median(r["s"] for r in old), statistics.median(r["s"] for r in new)
        o_m, n_m = statistics.median(r["rss_mb"] for r in old), statistics.median(r["rss_mb"] for r in new)
        table.append({"phase": phase, "old_s": round(o_s, 3), "new_s": round(n_s, 3), "speedup": round(o_s / n_s, 1),
                      "target_s": target_s, "old_rss_mb": round(o_m), "new_rss_mb": round(n_m),
                      "new_rss_x_csv": round(n_m / csv_mb, 2), "old_rss_x_csv": round(o_m / csv_mb, 2),
                      "new_s_all": [round(r["s"], 3) for r in new], "old_s_all": [round(r["s"], 3) for r in old],
                      "new_first_s": [round(r["first_s"], 3) for r in new if "first_s" in r]})
    print(f"train.csv: {args.rows:,} rows, {csv_mb:.1f} MB · medians of {args.repeats} · "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after (cores: {os.cpu_count()})\n")
    print(f"{'phase':6} {'old s':>8} {'new s':>8} {'speedup':>8} {'target s':>9} {'old RSS MB':>11} {'new RSS MB':>11} "
          f"{'new RSS/CSV':>12}")
    for r in table:
        print(f"{r['phase']:6} {r['old_s']:8.3f} {r['new_s']:8.3f} {r['speedup']:7.1f}x {r['target_s']:9.1f} "
              f"{r['old_rss_mb']:11d} {r['new_rss_mb']:11d} {r['new_rss_x_csv']:11.2f}x")
    io = runs["prep-io"]
    io_s, io_m = statistics.median(r["s"] for r in io), statistics.median(r["rss_mb"] for r in io)
    sc = runs["screen"]
    sc_s, sc_m = statistics.median(r["s"] for r in sc), statistics.median(r["rss_mb"] for r in sc)
    print(f"\ndiagnostic: new prep without the leak screen {io_s:.3f} s, peak RSS {io_m:.0f} MB "
          f"({io_m / csv_mb:.2f}x the CSV); the screen's own process (beside it, imports included) "
          f"{sc_s:.3f} s, peak RSS {sc_m:.0f} MB")
    if args.json:
        args.json.write_text(json.dumps({"rows": args.rows, "csv_mb": round(csv_mb, 1), "load_before": load_before,
                                         "load_after": load_after, "table": table,
                                         "prep_without_screen": {"s": round(io_s, 3), "rss_mb": round(io_m)},
                                         "screen_process": {"s": round(sc_s, 3), "rss_mb": round(sc_m)}},
                                        indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
