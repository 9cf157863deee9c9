"""Per-key limits through the real gateway on uvicorn: budgets, rates, models, expiry, restarts.

The gateway's clock is driven by hand (FakeClock: fixed instants, never today's date), so rate
windows and budget periods move only when a test says so. Upstreams: the fast asyncio fake
(fixed usage: 12 input + 9 output tokens per answer) for load, the full fake LLM server for
the SDK's own calls.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from loom.application.config import LoomConfig
from loom.application.credentials import MappingCredentials
from loom.entrypoints.gateway.app import create_app
from loom.entrypoints.gateway.keys import key_id
from loom.entrypoints.gateway.pool import PooledTransport
from loom.entrypoints.gateway.spend import load_ledger
from loom.entrypoints.gateway.usage import key_report, summarize_log
from tests.fakes.anthropic_upstream import FastUpstream
from tests.fakes.gateway_thread import GatewayThread, read_log
from tests.fakes.clock import FakeClock

KEY = "lk-limits-0123456789"
VENDOR = "sk-vendor-limits-000"
COST = (12 * 1.0 + 9 * 5.0) / 1e6  # one fast-upstream answer on claude-haiku-4-5 (USD)


def gateway(tmp: Path, upstream: str, limits: str, fake: FakeClock | None = None, **extra: Any) -> GatewayThread:
    keys = tmp / "keys"
    keys.write_text(f"{KEY} acme alice {limits}\n")
    config = LoomConfig(anthropic_base_url=upstream, proxy_log_path=tmp / "calls.jsonl", **extra)
    app = create_app(config, credentials=MappingCredentials({"ANTHROPIC_API_KEY": VENDOR,
                                                             "LOOM_API_KEYS_FILE": str(keys)}),
                     clock=(fake or FakeClock()).clock())
    return GatewayThread(app)


def post(gw: GatewayThread, model: str = "claude-haiku-4-5", route: str = "/v1/messages", **body: Any) -> httpx.Response:
    return httpx.post(gw.url + route, headers={"x-api-key": KEY}, json={
        "model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}], **body})


# ---- 50 callers on one key ---------------------------------------------------------------------
async def _hammer(url: str, stop_when: str) -> Counter[str]:
    """50 callers on one key: each retries max_parallel refusals and stops at `stop_when`."""
    outcomes: Counter[str] = Counter()
    body = {"model": "claude-haiku-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "go"}]}

    async def caller(client: httpx.AsyncClient) -> None:
        for _ in range(500):  # a bound, so a broken limit fails the test instead of hanging it
            resp = await client.post("/v1/messages", json=body, headers={"x-api-key": KEY})
            message = resp.json().get("error", {}).get("message", "") if resp.status_code != 200 else ""
            kind = {200: "ok"}.get(resp.status_code) or next(
                (k for k in ("max_parallel", "requests/minute", "budget") if k in message), f"other {resp.status_code}")
            outcomes[kind] += 1
            if kind == stop_when:
                return
            if kind == "max_parallel":
                await asyncio.sleep(0.01)

    limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=url, transport=PooledTransport(limits=limits), timeout=60) as client:
        await asyncio.gather(*(caller(client) for _ in range(50)))
    return outcomes


def test_fifty_callers_on_one_key_never_pass_its_limits(tmp_path: Path) -> None:
    fake = FakeClock()
    budget = 79.5 * COST  # runs out at the 80th answer
    with FastUpstream(delay=0.02) as up:
        with gateway(tmp_path, up.base_url, f"max_parallel=5 rpm=60 max_usd={budget!r}", fake) as gw:
            first = asyncio.run(_hammer(gw.url, stop_when="requests/minute"))
            fake.advance(61)  # a new minute: rpm has room again, the budget does not reset
            second = asyncio.run(_hammer(gw.url, stop_when="budget"))
            spent = gw.gateway.limits.ledger.spent(key_id(KEY), "total", fake.start + fake.t)
        answered = up.count
        widest = up.max_in_flight
    # rpm: exactly 60 admitted in the first minute, and every caller ended on the rpm refusal.
    assert first["ok"] == 60 and first["requests/minute"] == 50
    # budget: admitted while spend < max_usd; only calls already in flight (max 5) may finish after.
    total_ok = first["ok"] + second["ok"]
    assert 80 <= total_ok <= 80 + 5 - 1, (first, second)
    assert second["budget"] == 50 and not any(k.startswith("other") for k in first | second)
    assert widest <= 5 and answered == total_ok  # no refused call reached the vendor
    assert spent.usd == pytest.approx(total_ok * COST) and spent.usd - budget < 5 * COST
    # Every call, refused or not, is one log line with the limit that refused it.
    records = read_log(tmp_path / "calls.jsonl")
    assert len(records) == sum((first + second).values())
    by_limit = Counter(r["refused_by"] for r in records)
    assert by_limit == {None: total_ok, "rpm": 50, "max_usd": 50,
                        "max_parallel": first["max_parallel"] + second["max_parallel"]}
    assert {r["status"] for r in records if r["refused_by"] == "max_usd"} == {403}
    assert sum(r["cost_usd"] or 0 for r in records) == pytest.approx(spent.usd)


# ---- budgets on every metered route, through the SDK -------------------------------------------
def test_budget_counts_streams_and_refuses_messages_streams_and_count_tokens(fake_llm, tmp_path: Path) -> None:
    import anthropic

    with gateway(tmp_path, fake_llm.base_url, "max_usd=0.000001 budget_period=month") as gw:
        client = anthropic.Anthropic(api_key=KEY, base_url=gw.url, max_retries=0)
        with client.messages.stream(model="claude-haiku-4-5", max_tokens=16,
                                    messages=[{"role": "user", "content": "a streamed answer please"}]) as stream:
            final = stream.get_final_message()
        with pytest.raises(anthropic.PermissionDeniedError, match="budget exhausted for this API key"):
            client.messages.create(model="claude-haiku-4-5", max_tokens=16, messages=[{"role": "user", "content": "b"}])
        with pytest.raises(anthropic.PermissionDeniedError, match=r"spent this month \(UTC\); it resets at 2031-06-01"):
            with client.messages.stream(model="claude-haiku-4-5", max_tokens=16,
                                        messages=[{"role": "user", "content": "c"}]) as stream:
                stream.get_final_message()
        with pytest.raises(anthropic.PermissionDeniedError):
            client.messages.count_tokens(model="claude-haiku-4-5", messages=[{"role": "user", "content": "d"}])
        assert client.models.list().data  # listing models costs nothing and stays open
    assert [r.path for r in fake_llm.requests] == ["/v1/messages", "/v1/models"]
    records = read_log(tmp_path / "calls.jsonl")
    assert [(r["route"], r["status"], r["refused_by"]) for r in records] == [
        ("messages", 200, None), ("messages", 403, "max_usd"), ("messages", 403, "max_usd"),
        ("count_tokens", 403, "max_usd"), ("models", 200, None)]
    usage = final.usage
    assert records[0]["cost_usd"] == pytest.approx((usage.input_tokens * 1.0 + usage.output_tokens * 5.0) / 1e6)


def test_restart_keeps_spend_and_the_reports_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    budget = 2.5 * COST
    with FastUpstream() as up:
        with gateway(tmp_path, up.base_url, f"max_usd={budget!r}") as gw:
            assert [post(gw).status_code for _ in range(4)] == [200, 200, 200, 403]
            assert post(gw, model="mystery-model").status_code == 403
        with gateway(tmp_path, up.base_url, f"max_usd={budget!r}") as gw:  # a restart
            assert post(gw).status_code == 403
        with gateway(tmp_path, up.base_url, f"max_usd={3 * budget!r}") as gw:  # the operator raised it
            assert post(gw, model="mystery-model", stream=True).status_code == 200
            assert post(gw).status_code == 200
        assert up.count == 5
    ledger, loaded = load_ledger(tmp_path / "calls.jsonl")
    assert loaded["snapshot"] is True and loaded["replayed"] == 0  # the last stop saved everything
    [row] = key_report([gw.gateway.keyring.entries[0]], ledger, FakeClock().start)
    assert row["budget"]["spent_usd"] == pytest.approx(4 * COST) and row["budget"]["unpriced_tokens"] == 21
    assert row["budget"]["remaining_usd"] == pytest.approx(3 * budget - 4 * COST)
    summary = summarize_log(tmp_path / "calls.jsonl")
    assert summary["total"]["calls"] == 8 and summary["total"]["refused"] == 3
    assert summary["total"]["cost_usd"] == pytest.approx(4 * COST)
    assert summary["total"]["unpriced_tokens"] == 21 and summary["total"]["unpriced_calls"] == 1
    assert {(r["model"], r["calls"]) for r in summary["rows"]} == {("claude-haiku-4-5", 6), ("mystery-model", 2)}

    # The same numbers through the CLI, which reads the same files.
    from loom.entrypoints.cli.app import main

    monkeypatch.setenv("LOOM_API_KEYS_FILE", str(tmp_path / "keys"))
    monkeypatch.setenv("LOOM_PROXY_LOG_PATH", str(tmp_path / "calls.jsonl"))
    for argv in (["proxy", "keys", "--json"], ["proxy", "usage", "--json", "--tenant", "acme"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0
    keys_out, usage_out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert keys_out["keys"][0]["spend"]["total"]["usd"] == pytest.approx(4 * COST)
    assert KEY not in json.dumps(keys_out)
    assert usage_out["total"]["cost_usd"] == pytest.approx(4 * COST)


# ---- rates, models, expiry ----------------------------------------------------------------------
def test_tpm_counts_answers_tokens_in_the_rolling_minute(tmp_path: Path) -> None:
    fake = FakeClock()
    with FastUpstream() as up, gateway(tmp_path, up.base_url, "tpm=50", fake) as gw:
        codes = [post(gw).status_code for _ in range(3)]  # 0, 21, 42 tokens used when admitted
        limited = post(gw)
        fake.advance(60.5)
        after = post(gw)
    assert codes == [200, 200, 200] and after.status_code == 200
    assert limited.status_code == 429 and limited.json()["error"]["type"] == "rate_limit_error"
    assert "50 tokens/minute" in limited.json()["error"]["message"] and limited.headers["retry-after"] == "60"


def test_models_outside_the_key_list_are_403_and_never_forwarded(tmp_path: Path) -> None:
    with FastUpstream() as up, gateway(tmp_path, up.base_url, "models=claude-haiku-*,gpt-4o") as gw:
        refused = [post(gw, model="claude-opus-4-1"), post(gw, model="claude-opus-4-1", stream=True),
                   post(gw, model="gpt-4o-mini", route="/v1/messages/count_tokens"), post(gw, model=None)]
        allowed = [post(gw), post(gw, model="gpt-4o", stream=True)]
        count = up.count
    assert [r.status_code for r in refused] == [403] * 4
    assert refused[0].json()["error"] == {
        "type": "permission_error",
        "message": "model 'claude-opus-4-1' is not allowed for this API key (allowed: claude-haiku-*,gpt-4o)"}
    assert [r.status_code for r in allowed] == [200, 200] and count == 2


def test_an_expired_key_is_403_on_every_route(tmp_path: Path) -> None:
    fake = FakeClock()  # 2031-05-17 23:59 UTC; the key works through the 17th
    with FastUpstream() as up, gateway(tmp_path, up.base_url, "expires=2031-05-17", fake) as gw:
        before = post(gw).status_code
        fake.advance(60)
        after = [post(gw), httpx.get(gw.url + "/v1/models", headers={"x-api-key": KEY})]
        count = up.count
    assert before == 200 and count == 1
    assert [r.status_code for r in after] == [403, 403]
    assert "expired at 2031-05-18T00:00:00Z" in after[1].json()["error"]["message"]
    assert [r["refused_by"] for r in read_log(tmp_path / "calls.jsonl")] == [None, "expires", "expires"]
