"""Lifecycle verbs: wall time of each verb's flow vs the same analysis run in-process.

On the leaky-loans example (3,000 rows) in a temp embedded datastore: ingest, then eda,
features, validate (baseline), ops (drift vs itself), report, deploy (plan) each as its real
Metaflow flow, next to the pure analysis (pandas/sklearn, no Metaflow) it wraps. The ratio is
the price of running a verb as a versioned, carded Metaflow run.

Run:  .venv/bin/python bench/lifecycle_verbs.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    args = parser.parse_args(argv)
    import pandas as pd

    from loom.adapters.mlops.metaflow import MetaflowMLOps
    from loom.adapters.mlops.metaflow.lifecycle.analysis import drift, predictors, profile, recipes, validation
    from loom.application.config import LoomConfig

    with tempfile.TemporaryDirectory(prefix="loom-bench-lifecycle-") as tmp:
        data = Path(tmp) / "loans"
        subprocess.run([sys.executable, str(ROOT / "examples/leaky_loans/make_data.py"), str(data)], check=True,
                       capture_output=True)
        os.environ.setdefault("USER", "bench")
        config = LoomConfig.load(flags={"home": str(Path(tmp) / "home")}, env_file=None)
        m = MetaflowMLOps(config)
        raw, t_ingest = _timed(lambda: m.ingest(data))
        train, test = pd.read_csv(data / "train.csv"), pd.read_csv(data / "test.csv")
        rows = []

        def row(verb, flow_fn, local_fn=None):  # type: ignore[no-untyped-def]
            out, flow_s = _timed(flow_fn)
            local_s = _timed(local_fn)[1] if local_fn else None  # report/deploy: nothing to compute
            rows.append({"verb": verb, "flow_s": round(flow_s, 2),
                         "in_process_s": None if local_s is None else round(local_s, 3),
                         "ratio": None if local_s is None else round(flow_s / max(local_s, 1e-3), 1)})
            return out

        eda = row("eda", lambda: m.eda(raw.pathspec), lambda: profile.profile(train, test=test))
        drop = [f.column for f in eda.leakage if f.kind not in ("time_split", "id_like")]
        feats = row("features", lambda: m.build_features(raw.pathspec, from_eda=eda.pathspec),
                    lambda: recipes.apply(train, test, target="defaulted", drop=drop, recipe="minimal"))
        clean = train.drop(columns=drop)
        v = row("validate", lambda: m.validate(feats.pathspec),
                lambda: validation.cross_validate(clean, "defaulted", "classification",
                                                  predictors.BaselinePredictor("defaulted", "classification", [0, 1],
                                                                               drop=["loan_id"]),
                                                  time_column="application_date"))
        row("ops drift", lambda: m.ops(dataset=raw.pathspec, reference=raw.pathspec), lambda: drift.compare(train, train))
        row("report", lambda: m.report(runs=[v.pathspec]))
        rec = m.deploy_record(validate=v.pathspec)
        row("deploy plan", lambda: m.stage_deploy(rec, ["bench"]))
    print(f"ingest (for reference): {t_ingest:.2f} s\n")
    print(f"{'verb':12} {'flow s':>8} {'in-process s':>13} {'ratio':>7}")
    for r in rows:
        local = "—" if r["in_process_s"] is None else f"{r['in_process_s']:.3f}"
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.1f}"
        print(f"{r['verb']:12} {r['flow_s']:8.2f} {local:>13} {ratio:>7}")
    if args.json:
        args.json.write_text(json.dumps({"ingest_s": round(t_ingest, 2), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
