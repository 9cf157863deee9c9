"""Bench the local (PPMI+SVD) builder: probe time on the tutorial data, then time and peak RSS
at 10k, 100k and 1M events (each size in its own process, so peak RSS is per size).

    .venv/bin/python bench/train_local.py [--objective next-event] [--json out.json]

Targets (issue 7): probe on the tutorial data < 2 s; 1M events < 10 s and < 2 GB; growth about
linear (the per-1M-events column should stay roughly flat). Times are the builder's own work
(tokenize -> co-occurrence -> PPMI -> SVD -> pool -> head -> sealed evaluation), not the
Metaflow run around it or the data generation.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = (10_000, 100_000, 1_000_000)


def one(n_events: int, objective: str, capability: str) -> dict:
    sys.path.insert(0, str(ROOT / "examples" / "events"))
    from make_data import TUTORIAL_EVENTS, make_events

    from loom.adapters.builders.local.pipeline import build

    frame = make_events(n_events or TUTORIAL_EVENTS)
    build(frame.head(2_000), {"target": "churned"}, capability=capability, objective=objective,
          budget="probe")  # warm imports (numpy/scipy/sklearn), not timed
    t = time.perf_counter()
    out = build(frame, {"target": "churned"}, capability=capability, objective=objective, budget="probe")
    seconds = time.perf_counter() - t
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return {"events": len(frame), "seconds": round(seconds, 3), "peak_rss_mb": round(rss_mb, 1),
            "stages": {k: round(v, 3) for k, v in out["timings"].items()},
            "lift": out["metrics"].get("lift"), "fingerprint": out.get("fingerprint", "")[:12]}


def flow_wall(objective: str) -> float:
    """Wall time of `loom train` (local, probe) on the tutorial data, after `loom ingest`."""
    import os
    import tempfile

    loom = str(Path(sys.executable).with_name("loom"))
    with tempfile.TemporaryDirectory(prefix="loom-bench-train-") as tmp:
        env = {**os.environ, "LOOM_HOME": tmp, "LOOM_MODEL_BUILDER_PROVIDER": "local",
               "USER": os.environ.get("USER") or "bench"}
        subprocess.run([sys.executable, str(ROOT / "examples/events/make_data.py"), "--out", f"{tmp}/data"],
                       check=True, capture_output=True)
        ingest = subprocess.run([loom, "ingest", "--source", f"{tmp}/data", "--target", "churned", "--json"],
                                check=True, capture_output=True, text=True, env=env, cwd=tmp)
        dataset = json.loads(ingest.stdout)["pathspec"]
        t = time.perf_counter()
        subprocess.run([loom, "train", "--dataset", dataset, "--objective", objective, "--json"],
                       check=True, capture_output=True, env=env, cwd=tmp)
        return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objective", default="next-event", choices=["next-event", "masked-field", "contrastive"])
    parser.add_argument("--capability", default="evaluate", help="how far to go (default: the whole way)")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    parser.add_argument("--no-flow", action="store_true", help="skip the end-to-end `loom train` timing")
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.objective, args.capability)))
        return

    rows = []
    for n in (0, *SIZES):  # 0 = the tutorial data
        proc = subprocess.run([sys.executable, __file__, "--one", str(n), "--objective", args.objective,
                               "--capability", args.capability], capture_output=True, text=True, check=True)
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        row["label"] = "tutorial (probe)" if n == 0 else f"{n:,} events"
        rows.append(row)
    base = rows[1]
    print(f"local builder, objective {args.objective}, capability {args.capability}, budget probe")
    print(f"{'data':<18}{'events':>10}{'seconds':>9}{'s / 1M ev':>11}{'time x':>8}{'events x':>10}"
          f"{'peak RSS MB':>13}{'lift':>9}")
    for r in rows:
        per_m = r["seconds"] / r["events"] * 1e6
        print(f"{r['label']:<18}{r['events']:>10,}{r['seconds']:>9.3f}{per_m:>11.2f}"
              f"{r['seconds'] / base['seconds']:>8.1f}{r['events'] / base['events']:>10.1f}"
              f"{r['peak_rss_mb']:>13.0f}{(r['lift'] or 0):>+9.4f}")
    probe, big = rows[0], rows[-1]
    print(f"targets: probe < 2 s: {'OK' if probe['seconds'] < 2 else 'MISSED'} ({probe['seconds']:.2f} s); "
          f"1M events < 10 s: {'OK' if big['seconds'] < 10 else 'MISSED'} ({big['seconds']:.2f} s); "
          f"< 2 GB: {'OK' if big['peak_rss_mb'] < 2048 else 'MISSED'} ({big['peak_rss_mb']:.0f} MB)")
    print("stages at 1M:", big["stages"])
    if not args.no_flow:
        wall = flow_wall(args.objective)
        print(f"end to end on the tutorial data, `loom train` (one TrainBackbone run, card included): "
              f"{wall:.2f} s = builder {probe['seconds']:.2f} s + Metaflow/CLI {wall - probe['seconds']:.2f} s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
