"""Gateway overhead: latency added by `loom proxy serve` over calling the same upstream directly.

Three processes on loopback: a minimal fake Anthropic upstream (tests/fakes/anthropic_upstream.py:
raw asyncio HTTP/1.1, a canned message, or an SSE stream when the body asks for one), the real gateway (`loom proxy serve`,
exactly as users run it), and this driver, a raw keep-alive HTTP client (cheap, so the numbers
measure the servers, not the client).

Measured: p50/p99 of sequential calls (direct vs through the gateway, plain and streamed), and
requests/s at concurrency 50. Targets: <= 2 ms added p50, >= 500 rps through the gateway.

Run: .venv/bin/python bench/gateway.py [--calls 2000] [--load 5000] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CALLER_KEY = "lk-bench-0123456789"
VENDOR_KEY = "sk-bench-vendor-000"
# ---- the driver: a raw keep-alive client ---------------------------------------------------
def request_bytes(port: int, stream: bool) -> bytes:
    body = json.dumps({"model": "bench-model", "max_tokens": 64, "stream": stream,
                       "messages": [{"role": "user", "content": "Say something short."}]}).encode()
    return (b"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1:%d\r\nx-api-key: %s\r\n"
            b"anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (port, CALLER_KEY.encode(), len(body), body))


class Conn:
    def __init__(self, port: int) -> None:
        self.port = port

    async def open(self) -> "Conn":
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def call(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        if length:
            await self.reader.readexactly(int(length.group(1)))
        elif re.search(rb"(?i)\r\ntransfer-encoding:\s*chunked", head):
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        if status != 200:
            raise RuntimeError(f"HTTP {status}")
        return status

    def close(self) -> None:
        self.writer.close()


async def latencies(port: int, n: int, stream: bool) -> list[float]:
    conn = await Conn(port).open()
    req = request_bytes(port, stream)
    for _ in range(min(200, n)):  # warm-up
        await conn.call(req)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await conn.call(req)
        out.append((time.perf_counter() - t0) * 1000.0)
    conn.close()
    return out


async def throughput(port: int, total: int, concurrency: int) -> float:
    conns = [await Conn(port).open() for _ in range(concurrency)]
    req = request_bytes(port, False)
    left = [total]

    async def worker(conn: Conn) -> None:
        while left[0] > 0:
            left[0] -= 1
            await conn.call(req)

    await asyncio.gather(*(worker(c) for c in conns[:concurrency]))  # warm-up round
    left[0] = total
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - t0
    for c in conns:
        c.close()
    return total / elapsed


# ---- orchestration -------------------------------------------------------------------------
def _spawn(cmd: list[str], env: dict[str, str], pattern: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(cmd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stream = proc.stdout if "upstream" in pattern else proc.stderr
    assert stream is not None
    for _ in range(10):
        found = re.search(pattern + r" http://127\.0\.0\.1:(\d+)", stream.readline())
        if found:
            return proc, int(found.group(1))
    proc.kill()
    raise RuntimeError(f"{cmd[:3]} did not start: {proc.stderr.read() if proc.stderr else ''}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="sequential calls per latency row")
    parser.add_argument("--load", type=int, default=5000, help="calls in the concurrency-50 throughput run")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="loom-bench-gateway-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    upstream, up_port = _spawn([sys.executable, "-m", "tests.fakes.anthropic_upstream"], env, "upstream")
    env.update(ANTHROPIC_API_KEY=VENDOR_KEY, ANTHROPIC_BASE_URL=f"http://127.0.0.1:{up_port}",
               LOOM_API_KEY=CALLER_KEY, LOOM_PROXY_LOG_PATH=str(tmp / "calls.jsonl"))
    gateway, gw_port = _spawn([sys.executable, "-m", "loom.entrypoints.cli.app", "proxy", "serve", "--port", "0"],
                              env, "listening on")
    results: dict[str, dict[str, float]] = {}
    try:
        for name, stream in (("plain", False), ("stream", True)):
            direct = asyncio.run(latencies(up_port, args.calls, stream))
            through = asyncio.run(latencies(gw_port, args.calls, stream))
            results[name] = {"direct_p50": statistics.median(direct), "gateway_p50": statistics.median(through),
                             "direct_p99": pct(direct, 0.99), "gateway_p99": pct(through, 0.99)}
        results["rps"] = {"direct": asyncio.run(throughput(up_port, args.load, args.concurrency)),
                          "gateway": asyncio.run(throughput(gw_port, args.load, args.concurrency))}
    finally:
        gateway.send_signal(2)
        gateway.wait(timeout=30)
        upstream.kill()
        upstream.wait()
    logged = sum(1 for _ in (tmp / "calls.jsonl").open()) if (tmp / "calls.jsonl").exists() else 0

    print(f"gateway bench: {os.cpu_count()} cores, {args.calls} sequential calls per row, "
          f"{args.load} calls at concurrency {args.concurrency}")
    print(f"{'':22} {'direct':>10} {'gateway':>10} {'added':>10} {'ratio':>7}")
    for name in ("plain", "stream"):
        row = results[name]
        for q in ("p50", "p99"):
            d, g = row[f"direct_{q}"], row[f"gateway_{q}"]
            print(f"{name + ' ' + q + ' ms':22} {d:10.3f} {g:10.3f} {g - d:10.3f} {g / d:7.2f}")
    rps = results["rps"]
    print(f"{'rps @' + str(args.concurrency):22} {rps['direct']:10.0f} {rps['gateway']:10.0f} "
          f"{'':>10} {rps['gateway'] / rps['direct']:7.2f}")
    added = results["plain"]["gateway_p50"] - results["plain"]["direct_p50"]
    verdict = "PASS" if added <= 2.0 and rps["gateway"] >= 500 else "FAIL"
    print(f"\nadded p50 {added:.3f} ms (target <= 2 ms), {rps['gateway']:.0f} rps through the gateway "
          f"(target >= 500): {verdict}; {logged} calls logged")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "added_p50_ms": added, "logged": logged,
                                         "verdict": verdict}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
