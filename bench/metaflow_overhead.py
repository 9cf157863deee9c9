"""Metaflow overhead: wall time per candidate vs the local executor, and 1M-row ingest vs pandas.

Two measurements, each printed as a table with ratios:
1. Per candidate: the same small candidate (reads ./input/train.csv, writes a submission,
   prints a metric) run N times through a bare subprocess, `--mlops local` (LocalMLOps) and
   `--mlops metaflow` (one CandidateRun per candidate; the CandidateInput data object is stored
   once per search, as in a real search, and its one-off cost is reported separately).
2. Ingest: a generated 1M-row CSV (8 columns) through `loom`'s IngestDataset flow vs the floor
   a person would write by hand: pandas read_csv + DataFrame.to_parquet.

Everything runs on a temp embedded datastore. Run:
    .venv/bin/python bench/metaflow_overhead.py [--candidates 5] [--rows 1000000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CANDIDATE = """
import os, pandas as pd
train = pd.read_csv("input/train.csv")
os.makedirs("working", exist_ok=True)
pd.DataFrame({"id": train["id"].head(10), "target": 0}).to_csv("working/submission.csv", index=False)
print("Validation accuracy: 0.5")
"""


def make_data(root: Path, rows: int, small_rows: int = 2000) -> tuple[Path, Path]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)

    def frame(n: int) -> "pd.DataFrame":
        return pd.DataFrame({
            "id": np.arange(n), "a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.integers(0, 100, n),
            "d": rng.choice(["red", "green", "blue", "cyan"], n), "e": rng.random(n), "f": rng.integers(0, 5, n),
            "target": rng.integers(0, 2, n),
        })

    small = root / "small"
    small.mkdir()
    df = frame(small_rows)
    df.iloc[: small_rows * 4 // 5].to_csv(small / "train.csv", index=False)
    df.iloc[small_rows * 4 // 5:].drop(columns="target").to_csv(small / "test.csv", index=False)
    big = root / "big.csv"
    frame(rows).to_csv(big, index=False)
    return small, big


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bare_subprocess(code: str, input_dir: Path, ws_root: Path, i: int) -> None:
    import shutil

    ws = ws_root / f"bare{i}"
    shutil.copytree(input_dir, ws / "input")
    (ws / "working").mkdir()
    (ws / "runfile.py").write_text(code)
    subprocess.run([sys.executable, "runfile.py"], cwd=ws, check=True, capture_output=True, timeout=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=5, help="candidates per executor")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the ingest CSV")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="loom-bench-mf-") as tmp:
        root = Path(tmp)
        os.environ["LOOM_HOME"] = str(root / "home")
        for name in [n for n in os.environ if n.startswith("METAFLOW_")]:
            del os.environ[name]
        os.environ.setdefault("USER", "bench")
        from loom.adapters.mlops.metaflow import MetaflowMLOps
        from loom.application.config import LoomConfig
        from loom.application.ports.mlops import ExecRequest

        config = LoomConfig.load(env_file=None)
        print(f"generating data ({args.rows:,} rows) ...", file=sys.stderr)
        small, big = make_data(root, args.rows)
        metaflow = MetaflowMLOps(config)
        executors: dict[str, object] = {"metaflow": metaflow}
        try:
            from loom.adapters.mlops.local import LocalMLOps

            executors["local"] = LocalMLOps(config)
        except ImportError:
            pass

        # 1. per-candidate wall time
        times: dict[str, list[float]] = {"subprocess": []}
        for i in range(args.candidates):
            times["subprocess"].append(timed(lambda: bare_subprocess(CANDIDATE, small, root, i)))
        input_store = timed(lambda: metaflow.candidate_input(small, "bench"))
        for name, executor in executors.items():
            times[name] = []
            for i in range(args.candidates):
                req = ExecRequest(code=CANDIDATE, input_dir=small, timeout=120, run_id="bench", node_id=f"{name}{i}")
                elapsed = timed(lambda: setattr(main, "_last", executor.execute(req)))  # type: ignore[attr-defined]
                assert main._last.ok, main._last.term_out[-400:]  # type: ignore[attr-defined]
                times[name].append(elapsed)
        base_name = "local" if "local" in times else "subprocess"
        base = statistics.median(times[base_name])
        print(f"\nPer candidate ({args.candidates} runs each, median wall seconds)")
        print(f"{'executor':12} {'median s':>9} {'extra s':>9} {'ratio vs ' + base_name:>18}")
        rows = {}
        for name in ("subprocess", "local", "metaflow"):
            if name in times:
                med = statistics.median(times[name])
                rows[name] = {"median_s": med, "extra_s": med - base, "ratio": med / base}
                print(f"{name:12} {med:9.2f} {med - base:9.2f} {med / base:18.2f}")
        print(f"(one-off per search: storing the CandidateInput data object {input_store:.2f}s)")

        # 2. ingest of the big CSV
        import pandas as pd

        def pandas_floor() -> None:
            pd.read_csv(big).to_parquet(root / "big.parquet")

        floor = timed(pandas_floor)
        ingest = timed(lambda: metaflow.ingest(big, name="big"))
        size_mb = big.stat().st_size / 1e6
        print(f"\nIngest of a {args.rows:,}-row CSV ({size_mb:.0f} MB)")
        print(f"{'path':34} {'seconds':>8} {'ratio':>7}")
        print(f"{'pandas read_csv + to_parquet':34} {floor:8.2f} {1.0:7.2f}")
        print(f"{'loom ingest (IngestDataset flow)':34} {ingest:8.2f} {ingest / floor:7.2f}")
        result = {"per_candidate": rows, "baseline": base_name, "candidate_input_s": input_store,
                  "ingest": {"rows": args.rows, "mb": size_mb, "pandas_s": floor, "loom_s": ingest,
                             "ratio": ingest / floor}}
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
