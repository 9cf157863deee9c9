"""Startup cost: `loom --help` vs `python -c "import cyclopts"` (median of N each, side by side).

Target: `loom --help` <= 2.0x the bare cyclopts import. Run: .venv/bin/python bench/startup.py
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _median_wall(cmd: list[str], n: int) -> float:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=10, help="runs per command (median)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    loom = shutil.which("loom", path=str(Path(sys.executable).parent)) or "loom"
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import cyclopts'": [sys.executable, "-c", "import cyclopts"],
        "loom --help": [loom, "--help"],
        "loom run --help": [loom, "run", "--help"],
    }
    # interleave warm-up so the page cache treats every command alike
    for cmd in cases.values():
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    results = {name: _median_wall(cmd, args.n) for name, cmd in cases.items()}
    base = results["python -c 'import cyclopts'"]
    print(f"{'command':34} {'median s':>9} {'x cyclopts':>11}")
    for name, secs in results.items():
        print(f"{name:34} {secs:9.3f} {secs / base:11.2f}")
    ratio = results["loom --help"] / base
    verdict = "PASS" if ratio <= 2.0 else "FAIL"
    print(f"\nloom --help / import cyclopts = {ratio:.2f}x (target <= 2.0x): {verdict}")
    if args.json:
        args.json.write_text(json.dumps({"seconds": results, "ratio": ratio, "verdict": verdict}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
