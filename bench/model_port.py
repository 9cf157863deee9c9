"""Model-port overhead: a call through each Loom adapter vs the bare SDK call it wraps.

Both hit the same local fake LLM server (tests/fakes), so the ratio is Loom's own cost
(request building, tool-arg checks, usage, logging). Median of N calls each, interleaved.
Run: .venv/bin/python bench/model_port.py [-n 40] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loom.application.config import LoomConfig  # noqa: E402
from loom.domain.llm import ChatRequest, ToolSpec  # noqa: E402
from loom.entrypoints import registry  # noqa: E402
from tests.fakes.llm_server import FakeLLMServer  # noqa: E402

TOOL = ToolSpec("submit_review", "review", {"type": "object", "properties": {
    "is_bug": {"type": "boolean"}, "metric": {"type": "number"}}, "required": ["is_bug", "metric"]})


def _median_ms(fn: Callable[[], object], n: int) -> float:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=40, help="calls per case (median)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    import anthropic
    import openai

    os.environ.update({"ANTHROPIC_API_KEY": "sk-ant-bench-000000", "OPENAI_API_KEY": "sk-bench-000000"})
    rows = []
    with FakeLLMServer() as server:
        config = LoomConfig.load(env_file=None, flags={
            "anthropic_base_url": server.base_url, "openai_base_url": server.openai_base_url,
            "model_base_url": server.openai_base_url, "llm_max_retries": 0})
        raw_anthropic = anthropic.Anthropic(base_url=server.base_url, max_retries=0)
        raw_openai = openai.OpenAI(base_url=server.openai_base_url, max_retries=0)
        schema = TOOL.parameters
        cases = {
            "anthropic-api": (
                lambda tool: raw_anthropic.messages.create(
                    model="claude-haiku-4-5", max_tokens=256, messages=[{"role": "user", "content": "hi"}],
                    **({"tools": [{"name": TOOL.name, "input_schema": schema}],
                        "tool_choice": {"type": "tool", "name": TOOL.name}} if tool else {})),
                "claude-haiku-4-5"),
            "openai-api": (
                lambda tool: raw_openai.responses.create(
                    model="gpt-4.1-mini", input="hi",
                    **({"tools": [{"type": "function", "name": TOOL.name, "parameters": schema}]} if tool else {})),
                "gpt-4.1-mini"),
            "openai-compat": (
                lambda tool: raw_openai.chat.completions.create(
                    model="local", messages=[{"role": "user", "content": "hi"}],
                    **({"tools": [{"type": "function", "function": {"name": TOOL.name, "parameters": schema}}]}
                       if tool else {})),
                "local"),
        }
        for name, (raw, model) in cases.items():
            adapter = registry.create("models", name, config)
            for tool in (False, True):
                request = ChatRequest(None, "hi", model, tool=TOOL if tool else None, max_tokens=256)
                raw(tool), adapter.complete(request)  # warm-up: connections, imports
                sdk_ms = _median_ms(lambda: raw(tool), args.n)
                loom_ms = _median_ms(lambda: adapter.complete(request), args.n)
                rows.append({"provider": name, "call": "judge (tool)" if tool else "text",
                             "sdk_ms": round(sdk_ms, 2), "loom_ms": round(loom_ms, 2),
                             "ratio": round(loom_ms / sdk_ms, 2)})

    print(f"{'provider':15} {'call':13} {'sdk ms':>8} {'loom ms':>8} {'ratio':>6}")
    for row in rows:
        print(f"{row['provider']:15} {row['call']:13} {row['sdk_ms']:8.2f} {row['loom_ms']:8.2f} {row['ratio']:6.2f}")
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
