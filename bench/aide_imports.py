"""Import cost of the aide brain: what its first step pays before any LLM call.

Side by side in fresh interpreters (median of N each, interleaved): `python -c pass`, plain
`import aide.agent` (every vendor SDK, igraph, matplotlib), and Loom's `install_dispatch()` (aide
with its unused vendor backends and tree export registered unrun). Wall and CPU seconds, so a
busy machine can still be read; the load average is printed.

Target (issue 16): the aide brain's first step <= 1.5 s of imports on a calm machine.
Run:  .venv/bin/python bench/aide_imports.py [-n 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = {
    "python -c pass": "pass",
    "import aide.agent (plain)": "import aide.agent",
    "Loom aide brain imports": "from loom.adapters.search import aide_bridge; aide_bridge.install_dispatch()",
}


def _one(code: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    load_before = os.getloadavg()
    for code in CASES.values():  # warm the page cache for every case alike
        _one(code)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in CASES}
    for _ in range(args.n):
        for name, code in CASES.items():
            samples[name].append(_one(code))
    load_after = os.getloadavg()
    wall = {k: statistics.median(w for w, _ in v) for k, v in samples.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in samples.items()}
    plain = "import aide.agent (plain)"
    print(f"{'imports':<28} {'wall s':>8} {'cpu s':>8} {'x plain':>8}")
    for name in CASES:
        print(f"{name:<28} {wall[name]:8.3f} {cpu[name]:8.3f} {wall[name] / wall[plain]:8.2f}")
    print(f"\nLoom's aide imports: {wall['Loom aide brain imports']:.2f} s wall, {cpu['Loom aide brain imports']:.2f} s CPU "
          f"(target <= 1.5 s on a calm machine)")
    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} on {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps({"wall": wall, "cpu": cpu, "load": [load_before, load_after]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
