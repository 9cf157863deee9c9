"""Gateway overhead: what `loom proxy serve` adds over calling the same upstream directly, with
per-key limits off and on, and (optionally) side by side with LiteLLM's proxy.

Processes on loopback: a minimal fake Anthropic upstream (tests/fakes/anthropic_upstream.py: raw
asyncio HTTP/1.1, a canned message, or an SSE stream when the body asks for one), two real
gateways exactly as users run them (`loom proxy serve`): one whose key has no limits, one whose
key has every limit set (rpm, tpm, max_parallel, max_usd per month, a models glob, an expiry;
none of them binding, so every check runs on every call and nothing is refused), optionally
LiteLLM's proxy (`--litellm`: installed by this bench into its own venv, never a Loom
dependency; its budgets need a database, so its row has no limits), and this driver, a raw
keep-alive HTTP client (cheap, so the numbers measure the servers, not the client).

Each round measures every target at concurrency 1, 10 and 50 one after the other (side by side
under the same load); the table shows the median over the rounds of each round's p50 / p99
latency and requests/s, and the load average around the run. Targets (limits on): <= 2 ms added
p50 at concurrency 1 and >= 500 rps at concurrency 50.

Run: .venv/bin/python bench/gateway.py [--rounds 5] [--calls 500] [--load 2000] [--litellm] [--json out.json]
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODEL = "claude-haiku-4-5"  # priced in Loom's table, so the limits-on run prices every answer
KEY_OFF = "lk-bench-nolimits-0123456789"
KEY_ON = "lk-bench-limits-0123456789"
VENDOR_KEY = "sk-bench-vendor-000"
LITELLM_KEY = "sk-bench-litellm-master"
LIMITS = "rpm=1000000000 tpm=1000000000000 max_parallel=100000 max_usd=1000000 budget_period=month " \
         "models=claude-* expires=2999-12-31"
CONCURRENCY = (1, 10, 50)


# ---- the driver: a raw keep-alive client ---------------------------------------------------
def request_bytes(port: int, key: str, stream: bool) -> bytes:
    body = json.dumps({"model": MODEL, "max_tokens": 64, "stream": stream,
                       "messages": [{"role": "user", "content": "Say something short."}]}).encode()
    return (b"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1:%d\r\nx-api-key: %s\r\n"
            b"anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (port, key.encode(), len(body), body))


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
            body = await self.reader.readexactly(int(length.group(1)))
        elif re.search(rb"(?i)\r\ntransfer-encoding:\s*chunked", head):
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(parts)
        else:
            body = b""
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {body[:300]!r}")
        return status

    def close(self) -> None:
        self.writer.close()


async def measure(port: int, key: str, concurrency: int, total: int, stream: bool = False) -> dict[str, float]:
    """p50/p99 latency (ms) of `total` calls spread over `concurrency` connections, and calls/s."""
    conns = [await Conn(port).open() for _ in range(concurrency)]
    req = request_bytes(port, key, stream)

    async def warm(conn: Conn) -> None:  # 2 calls per connection before timing
        for _ in range(2):
            await conn.call(req)

    await asyncio.gather(*(warm(c) for c in conns))
    latencies: list[float] = []
    left = [total]

    async def worker(conn: Conn) -> None:
        while left[0] > 0:
            left[0] -= 1
            t0 = time.perf_counter()
            await conn.call(req)
            latencies.append((time.perf_counter() - t0) * 1000.0)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - t0
    for c in conns:
        c.close()
    return {"p50": statistics.median(latencies), "p99": pct(latencies, 0.99), "rps": total / elapsed}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---- the processes -------------------------------------------------------------------------
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


def _gateway(env: dict[str, str], tmp: Path, name: str, keys_line: str) -> tuple[subprocess.Popen[str], int, Path]:
    (tmp / f"{name}.keys").write_text(keys_line + "\n")
    log = tmp / f"{name}.jsonl"
    genv = {**env, "LOOM_API_KEYS_FILE": str(tmp / f"{name}.keys"), "LOOM_PROXY_LOG_PATH": str(log)}
    proc, port = _spawn([sys.executable, "-m", "loom.entrypoints.cli.app", "proxy", "serve", "--port", "0"],
                        genv, "listening on")
    return proc, port, log


def litellm_venv(path: Path) -> Path:
    """LiteLLM's proxy in its own venv (created on first use; never part of Loom's install)."""
    exe = path / "bin" / "litellm"
    if not exe.exists():
        print(f"installing litellm[proxy] into {path} (first run only) ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "pip"), "install", "-q", "litellm[proxy]"], check=True)
    return exe


def start_litellm(exe: Path, up_port: int, tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tmp / "litellm.yaml"
    cfg.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: anthropic/{MODEL}\n"
        f"      api_base: http://127.0.0.1:{up_port}\n"
        f"      api_key: {VENDOR_KEY}\n"
        f"general_settings:\n  master_key: {LITELLM_KEY}\n"
        "litellm_settings:\n  telemetry: false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOM_", "ANTHROPIC_", "OPENAI_"))}
    env.update(LITELLM_LOG="ERROR", LITELLM_TELEMETRY="False", DISABLE_SCHEMA_UPDATE="true")
    log = open(tmp / "litellm.log", "wb")
    proc = subprocess.Popen([str(exe), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port),
                             "--num_workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"litellm exited: {(tmp / 'litellm.log').read_text(errors='replace')[-500:]}")
        try:
            asyncio.run(measure(port, LITELLM_KEY, 1, 1))
            return proc, port
        except (OSError, RuntimeError, asyncio.IncompleteReadError):
            time.sleep(1)
    proc.kill()
    raise RuntimeError("litellm did not answer within 180 s")


# ---- the run -------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="rounds (the table shows medians over them)")
    parser.add_argument("--calls", type=int, default=500, help="calls per target per round at concurrency 1")
    parser.add_argument("--load", type=int, default=2000, help="calls per target per round at concurrency 10 and 50")
    parser.add_argument("--litellm", action="store_true", help="add LiteLLM's proxy (installed in its own venv)")
    parser.add_argument("--litellm-venv", type=Path, default=Path(tempfile.gettempdir()) / "loom-bench-litellm")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="loom-bench-gateway-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    upstream, up_port = _spawn([sys.executable, "-m", "tests.fakes.anthropic_upstream"], env, "upstream")
    env.update(ANTHROPIC_API_KEY=VENDOR_KEY, ANTHROPIC_BASE_URL=f"http://127.0.0.1:{up_port}")
    procs: list[subprocess.Popen[Any]] = []
    targets: list[tuple[str, int, str]] = [("direct", up_port, KEY_OFF)]
    try:
        off, off_port, off_log = _gateway(env, tmp, "off", f"{KEY_OFF} bench off")
        on, on_port, on_log = _gateway(env, tmp, "on", f"{KEY_ON} bench on {LIMITS}")
        procs += [off, on]
        targets += [("loom", off_port, KEY_OFF), ("loom+limits", on_port, KEY_ON)]
        if args.litellm:
            lite, lite_port = start_litellm(litellm_venv(args.litellm_venv), up_port, tmp)
            procs.append(lite)
            targets.append(("litellm", lite_port, LITELLM_KEY))
        rounds: dict[tuple[str, int], list[dict[str, float]]] = {}
        streams: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for c in CONCURRENCY:
                for name, port, key in targets:
                    total = args.calls if c == 1 else args.load
                    if name == "litellm":
                        total = max(100, total // 5)  # it is ~10x slower; fewer calls keep the run short
                    rounds.setdefault((name, c), []).append(asyncio.run(measure(port, key, c, total)))
            for name, port, key in targets[:3]:
                streams.setdefault(name, []).append(asyncio.run(measure(port, key, 1, args.calls, True))["p50"])
    finally:
        for proc in procs:
            proc.send_signal(2)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        upstream.kill()
        upstream.wait()
    load_after = os.getloadavg()

    med = {k: {m: statistics.median(r[m] for r in v) for m in ("p50", "p99", "rps")} for k, v in rounds.items()}
    logged = {n: sum(1 for _ in p.open()) for n, p in (("loom", off_log), ("loom+limits", on_log))}
    refused = sum(1 for line in on_log.open() if '"refused_by": null' not in line)
    print(f"gateway bench: {os.cpu_count()} cores, load average {load_before[0]:.2f} before / "
          f"{load_after[0]:.2f} after; medians of {args.rounds} rounds; {args.calls} calls at concurrency 1, "
          f"{args.load} at 10 and 50 per target per round")
    print(f"limits on = {LIMITS} (none binding)")
    print(f"{'target':14} {'conc':>4} {'p50 ms':>8} {'added':>8} {'p99 ms':>8} {'rps':>8} {'rps/direct':>10}")
    for c in CONCURRENCY:
        base = med[("direct", c)]
        for name, _, _ in targets:
            row = med[(name, c)]
            added = "" if name == "direct" else f"{row['p50'] - base['p50']:8.3f}"
            print(f"{name:14} {c:4d} {row['p50']:8.3f} {added:>8} {row['p99']:8.3f} {row['rps']:8.0f} "
                  f"{row['rps'] / base['rps']:10.2f}")
    sp = {n: statistics.median(v) for n, v in streams.items()}
    print(f"streamed p50 at concurrency 1: direct {sp['direct']:.3f} ms, loom {sp['loom']:.3f} "
          f"(+{sp['loom'] - sp['direct']:.3f}), loom+limits {sp['loom+limits']:.3f} (+{sp['loom+limits'] - sp['direct']:.3f})")
    added_on = med[("loom+limits", 1)]["p50"] - med[("direct", 1)]["p50"]
    cost = med[("loom+limits", 1)]["p50"] - med[("loom", 1)]["p50"]
    rps_on = med[("loom+limits", 50)]["rps"]
    verdict = "PASS" if added_on <= 2.0 and rps_on >= 500 and refused == 0 else "FAIL"
    print(f"\nlimits on: added p50 {added_on:.3f} ms at concurrency 1 (target <= 2 ms), {rps_on:.0f} rps at "
          f"concurrency 50 (target >= 500): {verdict}. Limits cost {cost:+.3f} ms p50 and "
          f"{rps_on / med[('loom', 50)]['rps']:.2f}x the rps of limits off; {refused} refused; "
          f"logged {logged['loom']} / {logged['loom+limits']} calls")
    if args.json:
        args.json.write_text(json.dumps({
            "load_average": [load_before, load_after], "rounds": args.rounds,
            "median": {f"{n}@{c}": v for (n, c), v in med.items()}, "stream_p50": sp,
            "added_p50_ms_limits_on": added_on, "verdict": verdict, "logged": logged}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
