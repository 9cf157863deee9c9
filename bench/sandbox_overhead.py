"""Sandbox overhead: one candidate through the local executor, LOOM_SANDBOX=none vs bwrap.

Two candidates, run interleaved (none, bwrap, none, bwrap, ...) so both see the same machine:
a trivial one (`print`), and a scikit-learn one (reads the churn input, fits a logistic
regression, writes a submission). Each time is the whole `LocalMLOps.execute` call: workspace,
sandbox launch, the candidate, collecting the result. Prints medians, the added milliseconds and
the ratio per candidate, and the load average it ran under. Target: bwrap adds < 50 ms.

Run:  .venv/bin/python bench/sandbox_overhead.py [--repeats 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CANDIDATES = {
    "trivial": "print('Validation metric: 0.5')\n",
    "scikit-learn": (
        "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
        "tr = pd.read_csv('input/train.csv'); te = pd.read_csv('input/test.csv')\n"
        "cols = ['tenure_months', 'monthly_charges', 'support_calls', 'senior']\n"
        "m = LogisticRegression(max_iter=300).fit(tr[cols].fillna(0), tr['churn'])\n"
        "pd.DataFrame({'customer_id': te['customer_id'], 'churn': m.predict_proba(te[cols].fillna(0))[:, 1]})"
        ".to_csv('working/submission.csv', index=False)\nprint('Validation metric: 0.8')\n"
    ),
}


def measure(home: Path, repeats: int) -> tuple[dict[tuple[str, str], list[float]], tuple[float, float, float]]:
    """Median inputs: every candidate under none and bwrap, interleaved, the first round dropped."""
    from loom.adapters.mlops.local import LocalMLOps
    from loom.application.config import LoomConfig
    from loom.application.ports.mlops import ExecRequest

    executors = {name: LocalMLOps(LoomConfig.load(env_file=None, flags={"home": str(home), "sandbox": name}))
                 for name in ("none", "bwrap")}
    load_before = os.getloadavg()
    times: dict[tuple[str, str], list[float]] = {}
    for candidate, code in CANDIDATES.items():
        for i in range(repeats + 1):  # the first round warms the page cache and is dropped
            for name, executor in executors.items():
                started = time.perf_counter()
                result = executor.execute(ExecRequest(code=code, input_dir=ROOT / "examples" / "churn", timeout=120,
                                                      run_id="bench", node_id=uuid.uuid4().hex))
                elapsed = time.perf_counter() - started
                if not result.ok:
                    sys.exit(f"{candidate} under {name} failed: {result.stderr[-500:]}")
                if i:
                    times.setdefault((candidate, name), []).append(elapsed)
    return times, load_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from loom.adapters import sandbox as sandboxes

    if not sandboxes.probe()[0]:
        sys.exit("bubblewrap cannot run here: apt-get install -y bubblewrap")
    with tempfile.TemporaryDirectory(prefix="loom-bench-sandbox-") as tmp:  # removed when it ends
        times, load_before = measure(Path(tmp), args.repeats)
    load_after = os.getloadavg()

    rows = []
    print(f"{'candidate':<14}{'none s':>10}{'bwrap s':>10}{'added ms':>10}{'ratio':>8}")
    for candidate in CANDIDATES:
        none, bwrap = (statistics.median(times[(candidate, n)]) for n in ("none", "bwrap"))
        rows.append({"candidate": candidate, "none_s": none, "bwrap_s": bwrap, "added_ms": (bwrap - none) * 1000,
                     "ratio": bwrap / none})
        print(f"{candidate:<14}{none:>10.3f}{bwrap:>10.3f}{(bwrap - none) * 1000:>10.1f}{bwrap / none:>8.2f}")
    print(f"medians of {args.repeats}, interleaved; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after"
          f" ({os.cpu_count()} cores)")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "repeats": args.repeats,
                                         "loadavg": [load_before[0], load_after[0]]}, indent=1))


if __name__ == "__main__":
    main()
