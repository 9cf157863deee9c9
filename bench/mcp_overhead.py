"""What an agent pays per call: a tool call on a warm `loom mcp serve` vs `loom VERB --json` in a shell.

Side by side, interleaved, median of N each: a small view (`config`) and a keyless one-step run
(`run`, baseline brain, local execution, examples/churn). Prints the load average it ran under.
Run: .venv/bin/python bench/mcp_overhead.py [-n 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

ROOT = Path(__file__).resolve().parents[1]
RUN = {"data": str(ROOT / "examples" / "churn"), "goal": "Predict churn", "metric": "Maximize ROC-AUC",
       "steps": 1, "search": "baseline", "mlops": "local"}


def _cli(loom: str, verb: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([loom, *verb, "--json"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=5, help="calls per case (median)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    loom = shutil.which("loom", path=str(Path(sys.executable).parent)) or "loom"
    home = Path(tempfile.mkdtemp(prefix="loom-bench-mcp-"))
    env = {**os.environ, "LOOM_HOME": str(home)}
    run_flags = ["run", "--data", RUN["data"], "--goal", RUN["goal"], "--metric", RUN["metric"], "--steps", "1",
                 "--search", "baseline", "--mlops", "local"]
    samples: dict[str, list[float]] = {k: [] for k in ("cli config", "mcp config", "cli run", "mcp run")}

    async def bench() -> None:
        params = StdioServerParameters(command=loom, args=["mcp", "serve"], env={"LOOM_HOME": str(home)})
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await session.call_tool("config", {})  # warm the server's imports
            for _ in range(args.n):  # interleaved, so load changes hit every case alike
                samples["cli config"].append(await anyio.to_thread.run_sync(_cli, loom, ["config", "show"], env))
                start = time.perf_counter()
                await session.call_tool("config", {})
                samples["mcp config"].append(time.perf_counter() - start)
                samples["cli run"].append(await anyio.to_thread.run_sync(_cli, loom, run_flags, env))
                start = time.perf_counter()
                result = await session.call_tool("run", RUN)
                samples["mcp run"].append(time.perf_counter() - start)
                assert result.structured_content["status"] == "OK", result.structured_content

    anyio.run(bench)
    med = {k: statistics.median(v) for k, v in samples.items()}
    load = os.getloadavg()
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}  (n={args.n}, medians)")
    print(f"{'case':12} {'median s':>9} {'mcp / cli':>10}")
    for verb in ("config", "run"):
        print(f"{'cli ' + verb:12} {med['cli ' + verb]:9.3f}")
        print(f"{'mcp ' + verb:12} {med['mcp ' + verb]:9.3f} {med['mcp ' + verb] / med['cli ' + verb]:10.2f}")
    if args.json:
        args.json.write_text(json.dumps({"seconds": med, "samples": samples, "loadavg": load}, indent=2))
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
