"""Per-key policy of the gateway, without a server: parsing, pricing, the ledger, the checks.

Every time here comes from a hand-driven clock set to fixed instants (never today's date).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from loom.application.credentials import MappingCredentials
from loom.domain.errors import ConfigError
from loom.entrypoints.gateway.calllog import Call, CallLog
from loom.entrypoints.gateway.keys import KeyRing, KeyWatcher, load_keyring
from loom.entrypoints.gateway.limits import Limits, period_end
from loom.entrypoints.gateway.policy import KeyPolicy, parse_policy
from loom.entrypoints.gateway.prices import price, tokens_of
from loom.entrypoints.gateway.spend import Ledger, load_ledger, snapshot_path
from tests.fakes.clock import T0, FakeClock

HAIKU = (1.0, 5.0)  # claude-haiku-4-5 in Loom's price table, USD per million tokens (in, out)


def ring_of(tmp_path: Path, text: str) -> KeyRing:
    keys = tmp_path / "keys"
    keys.write_text(text)
    return load_keyring(MappingCredentials({"LOOM_API_KEYS_FILE": str(keys)}), tenant="t0", owner="o0")


# ---- the keys file -----------------------------------------------------------------------------
def test_limits_follow_tenant_and_owner_and_old_lines_stay_valid(tmp_path: Path) -> None:
    ring = ring_of(tmp_path, "k-old acme alice\n"
                             "k-new acme bob rpm=60 max_usd=25 budget_period=month models=claude-*,gpt-4o "
                             "max_parallel=4 tpm=100000 expires=2031-05-17   # comment\n"
                             "k-bare rpm=5\n")
    old, new, bare = (ring.match(k.encode()) for k in ("k-old", "k-new", "k-bare"))
    assert old.policy.empty and (old.tenant, old.owner) == ("acme", "alice")
    assert (new.tenant, new.owner) == ("acme", "bob")
    assert new.policy == KeyPolicy(max_usd=25.0, budget_period="month", rpm=60, tpm=100000, max_parallel=4,
                                   models=("claude-*", "gpt-4o"),
                                   expires=datetime(2031, 5, 18, tzinfo=timezone.utc).timestamp())
    assert (bare.tenant, bare.owner, bare.policy.rpm) == ("t0", "o0", 5)
    assert new.policy.needs_usage and not bare.policy.needs_usage
    assert new.policy.allows_model("claude-haiku-4-5") and new.policy.allows_model("gpt-4o")
    assert not new.policy.allows_model("gpt-4o-mini") and not new.policy.allows_model(None)
    assert new.policy.describe() == ("max_usd=25/month rpm=60 tpm=100000 max_parallel=4 models=claude-*,gpt-4o "
                                     "expires=2031-05-18T00:00:00Z")


@pytest.mark.parametrize(("line", "says"), [
    ("k-1 t o rpm=0", "rpm must be a whole number >= 1"),
    ("k-1 t o rpm=1.5", "rpm must be a whole number"),
    ("k-1 t o max_usd=-1", "max_usd must be a number >= 0"),
    ("k-1 t o max_usd=nan", "max_usd must be a number >= 0"),
    ("k-1 t o budget_period=week max_usd=1", "budget_period must be one of day, month, total"),
    ("k-1 t o budget_period=day", "budget_period needs max_usd"),
    ("k-1 t o burst=3", "unknown key limit 'burst'"),
    ("k-1 t o rpm=3 rpm=4", "rpm is given twice"),
    ("k-1 t o models=", "models needs at least one name"),
    ("k-1 t o expires=next-week", "expires must be a date"),
    ("k-1 t o expires=2031-05-17T10:00:00", "needs a UTC offset"),
    ("k-1 t o extra rpm=3", "expected `key [tenant [owner]] [name=value ...]`"),
    ("k-1 t rpm=3 o", "expected `key [tenant [owner]] [name=value ...]`"),
])
def test_a_bad_limit_names_the_line_and_never_the_key(tmp_path: Path, line: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        ring_of(tmp_path, "k-fine t o\n" + line + "\n")
    assert says in str(info.value) and f"{tmp_path / 'keys'}:2" in str(info.value)
    assert "k-1" not in str(info.value)


def test_expiry_with_a_time_and_offset_is_exact() -> None:
    policy = parse_policy(["expires=2031-05-17T18:00:00+02:00"], "f:1")
    assert policy.expires == datetime(2031, 5, 17, 16, tzinfo=timezone.utc).timestamp()


def test_key_watcher_sees_edits_and_atomic_replaces(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("k-1 t o\n")
    watcher = KeyWatcher(MappingCredentials({"LOOM_API_KEYS_FILE": str(keys)}), tenant="t", owner="o")
    assert watcher.poll() is None  # unchanged since it was read
    keys.write_text("k-1 t o rpm=5\nk-2 t o\n")
    ring = watcher.poll()
    assert ring is not None and len(ring) == 2 and ring.match(b"k-1").policy.rpm == 5
    assert watcher.poll() is None
    (tmp_path / "keys.new").write_text("k-3 t o\n")
    (tmp_path / "keys.new").replace(keys)  # an editor's atomic save: a new inode
    assert [e.tenant for e in watcher.poll().entries] == ["t"]
    keys.write_text("k-3 t o rpm=nope\n")
    with pytest.raises(ConfigError, match="rpm must be"):
        watcher.poll()
    assert watcher.poll() is None  # the broken version is reported once, not on every poll
    with pytest.raises(ConfigError):
        watcher.poll(force=True)  # SIGHUP re-reads even without a change
    keys.write_text("k-4 t o\n")
    assert len(watcher.poll(force=True)) == 1
    assert KeyWatcher(MappingCredentials({}), tenant="t", owner="o").poll(force=True) is None


# ---- pricing and the ledger --------------------------------------------------------------------
def test_price_uses_the_table_with_cache_rates_and_never_invents_one() -> None:
    usage = {"input_tokens": 1000, "output_tokens": 200}
    assert price("claude-haiku-4-5", usage) == pytest.approx((1000 * 1.0 + 200 * 5.0) / 1e6)
    assert price("claude-haiku-4-5-20251001", usage) == price("claude-haiku-4-5", usage)  # dated names
    cached = {"input_tokens": 10, "output_tokens": 0, "cache_creation_input_tokens": 1000,
              "cache_read_input_tokens": 2000}
    assert price("claude-haiku-4-5", cached) == pytest.approx((10 + 1000 * 1.25 + 2000 * 0.1) * 1.0 / 1e6)
    split = {**cached, "cache_creation": {"ephemeral_5m_input_tokens": 400, "ephemeral_1h_input_tokens": 600}}
    assert price("claude-haiku-4-5", split) == pytest.approx((10 + 400 * 1.25 + 600 * 2.0 + 2000 * 0.1) / 1e6)
    assert price("some-new-model", usage) is None and price(None, usage) is None
    assert tokens_of(cached) == 3010 and tokens_of(None) == 0 and tokens_of({"input_tokens": "x"}) == 0


def test_ledger_keeps_utc_day_month_and_total() -> None:
    ledger = Ledger()
    ledger.charge("k", T0, 1.0, 10)  # 2031-05-17 23:59
    ledger.charge("k", T0 + 120, 2.0, 20)  # 2031-05-18 00:01: a new day, same month
    ledger.charge("k", T0 + 30, 0.5, 5)  # a late answer of the 17th: counts in month and total only
    ledger.charge("k", T0 + 120, None, 7)  # a model without a price
    assert ledger.spent("k", "day", T0 + 200).usd == 2.0
    assert ledger.spent("k", "day", T0 + 200).unpriced_tokens == 7
    assert ledger.spent("k", "month", T0 + 200).usd == 3.5 and ledger.spent("k", "total", T0).usd == 3.5
    assert ledger.spent("k", "day", T0 + 86400 * 2).usd == 0.0  # nothing charged yet that day
    june = datetime(2031, 6, 1, tzinfo=timezone.utc).timestamp()
    assert ledger.spent("k", "month", june).usd == 0.0 and ledger.spent("k", "total", june).usd == 3.5
    assert ledger.spent("other", "total", T0).usd == 0.0
    again = Ledger.from_json(json.loads(json.dumps(ledger.to_json())))
    assert again.to_json() == ledger.to_json()
    assert period_end("day", T0) == T0 + 60 and period_end("month", T0) == june and period_end("total", T0) is None


def _logged_call(n: int, key: str = "kid", model: str = "claude-haiku-4-5", started: float = T0) -> Call:
    body = json.dumps({"type": "message", "model": model, "content": [{"type": "text", "text": f"#{n}"}],
                       "usage": {"input_tokens": 1000, "output_tokens": 100}}).encode()
    return Call(started, "t", "o", key, "messages", status=200, body=body)


def test_restart_replays_only_what_the_snapshot_does_not_cover(tmp_path: Path) -> None:
    from loom.entrypoints.gateway.accounts import SpendKeeper

    log_path = tmp_path / "calls.jsonl"
    cost = (1000 * HAIKU[0] + 100 * HAIKU[1]) / 1e6

    def run(calls: list[Call]) -> Limits:
        ledger, _ = load_ledger(log_path)
        limits = Limits(ledger, FakeClock().clock())
        log = CallLog(log_path, SpendKeeper(limits, ledger.copy(), snapshot_path(log_path)))
        for call in calls:
            log.put(call)  # no loop: written (and snapshotted) at once
        return limits

    live = run([_logged_call(i) for i in range(3)] + [_logged_call(9, model="mystery-model")])
    assert live.ledger.spent("kid", "total", T0).usd == pytest.approx(3 * cost)
    assert live.ledger.spent("kid", "total", T0).unpriced_tokens == 1100
    records = [json.loads(x) for x in log_path.read_text().splitlines()]
    assert [r["cost_usd"] for r in records] == [pytest.approx(cost)] * 3 + [None]

    stale = snapshot_path(log_path).read_bytes()
    run([_logged_call(i) for i in range(3, 5)])
    snapshot_path(log_path).write_bytes(stale)  # a crash before the last snapshot was saved
    ledger, loaded = load_ledger(log_path)
    assert loaded == {"snapshot": True, "replayed": 2}  # only the lines after the stale snapshot
    assert ledger.spent("kid", "total", T0).usd == pytest.approx(5 * cost)

    snapshot_path(log_path).unlink()  # no snapshot at all: the log alone rebuilds the counters
    ledger, loaded = load_ledger(log_path)
    assert loaded == {"snapshot": False, "replayed": 6}  # every answered line, priced or not
    assert ledger.spent("kid", "total", T0).usd == pytest.approx(5 * cost)

    snapshot_path(log_path).write_text("{not json")  # a damaged snapshot is ignored, not trusted
    assert load_ledger(log_path)[0].spent("kid", "total", T0).usd == pytest.approx(5 * cost)


def _snapshotting_log(log_path: Path) -> CallLog:
    """A call log that charges and snapshots as the server's does, from what the log holds now."""
    from loom.entrypoints.gateway.accounts import SpendKeeper

    ledger, _ = load_ledger(log_path)
    limits = Limits(ledger, FakeClock().clock())
    return CallLog(log_path, SpendKeeper(limits, ledger.copy(), snapshot_path(log_path)))


def test_a_rotated_log_is_not_replayed_twice(tmp_path: Path) -> None:
    log_path = tmp_path / "calls.jsonl"
    log = _snapshotting_log(log_path)
    log.put(_logged_call(1))
    log_path.rename(tmp_path / "calls.jsonl.1")  # logrotate
    log.put(_logged_call(2))
    ledger, loaded = load_ledger(log_path)
    assert loaded["replayed"] == 0  # the snapshot already covers the new file's one line
    assert ledger.spent("kid", "total", T0).tokens == 2200


def test_a_crash_around_a_rotation_loses_no_spend(tmp_path: Path) -> None:
    """Calls logged into the old file after the last snapshot, then a rotation, then a crash."""
    log_path = tmp_path / "calls.jsonl"
    log = _snapshotting_log(log_path)
    log.put(_logged_call(1))
    stale = snapshot_path(log_path).read_bytes()  # covers call 1 only
    log.put(_logged_call(2))
    log_path.rename(tmp_path / "calls.jsonl.1")  # logrotate moves the file away
    log.put(_logged_call(3))  # into the new file
    snapshot_path(log_path).write_bytes(stale)  # the crash: the snapshots after call 1 never landed
    ledger, loaded = load_ledger(log_path)
    assert loaded == {"snapshot": True, "replayed": 2}  # call 2 from the rotated file, call 3 from the new one
    assert ledger.spent("kid", "total", T0).tokens == 3 * 1100
    (tmp_path / "calls.jsonl.1").unlink()  # a rotation that compressed the file cannot be followed
    assert load_ledger(log_path)[0].spent("kid", "total", T0).tokens == 2 * 1100


# ---- the checks --------------------------------------------------------------------------------
def _limits(fake: FakeClock, default_rpm: int | None = None) -> Limits:
    return Limits(Ledger(), fake.clock(), default_rpm)


def test_checks_in_order_expiry_model_budget(tmp_path: Path) -> None:
    fake = FakeClock()
    entry = ring_of(tmp_path, "k-1 t o max_usd=0.01 budget_period=day models=claude-* expires=2031-05-17\n").entries[0]
    limits = _limits(fake)
    assert limits.admit(entry, "messages", "claude-haiku-4-5") is None
    refused = limits.admit(entry, "messages", "gpt-4o")
    assert (refused.status, refused.limit) == (403, "models") and "gpt-4o" in refused.message
    assert limits.admit(entry, "count_tokens", "gpt-4o").limit == "models"
    assert limits.admit(entry, "models") is None  # listing models names no model
    limits.charge(entry.key_id, fake.start, 0.004, 100)
    limits.charge(entry.key_id, fake.start, None, 50)
    assert limits.admit(entry, "messages", "claude-x") is None  # $0.004 < $0.01
    limits.charge(entry.key_id, fake.start, 0.007, 100)
    refused = limits.admit(entry, "messages", "claude-x")
    assert (refused.status, refused.limit, refused.retry_after) == (403, "max_usd", None)
    assert "$0.0110 of $0.01 spent today (UTC)" in refused.message
    assert "resets at 2031-05-18T00:00:00Z" in refused.message
    assert "plus 50 tokens on models without a known price" in refused.message
    assert limits.admit(entry, "count_tokens", "claude-x").limit == "max_usd"
    fake.advance(61)  # past midnight UTC: a new day, a fresh daily budget, and the key has expired
    refused = limits.admit(entry, "messages", "claude-x")
    assert (refused.status, refused.limit) == (403, "expires") and "2031-05-18T00:00:00Z" in refused.message
    assert limits.admit(entry, "models").limit == "expires"


def test_rate_checks_tpm_parallel_rpm(tmp_path: Path) -> None:
    fake = FakeClock()
    entry = ring_of(tmp_path, "k-1 t o rpm=3 tpm=1000 max_parallel=2\n").entries[0]
    limits = _limits(fake)
    assert limits.admit(entry, "messages", "m") is None
    assert limits.admit(entry, "messages", "m") is None
    refused = limits.admit(entry, "messages", "m")
    assert (refused.status, refused.limit, refused.headers()) == (429, "max_parallel", {"retry-after": "1"})
    limits.release(entry.key_id)
    limits.charge(entry.key_id, fake.start, 0.0, 1200)  # over tpm
    refused = limits.admit(entry, "messages", "m")
    assert (refused.limit, refused.retry_after) == ("tpm", 60.0)
    assert limits.admit(entry, "models") is None  # listing models spends no tokens: 3rd request of the minute
    limits.release(entry.key_id)
    fake.advance(30)
    refused = limits.admit(entry, "models")
    assert (refused.limit, refused.headers()) == ("rpm", {"retry-after": "30"})
    assert limits.inflight == {entry.key_id: 1}  # refusals take no slot
    fake.advance(31)
    assert limits.admit(entry, "messages", "m") is None  # a new minute: tokens and requests have left


def test_server_rpm_applies_to_keys_without_their_own(tmp_path: Path) -> None:
    ring = ring_of(tmp_path, "k-plain t o\nk-own t o rpm=3\n")
    limits = _limits(FakeClock(), default_rpm=1)
    plain, own = ring.entries
    assert limits.admit(plain, "messages", "m") is None and limits.admit(plain, "messages", "m").limit == "rpm"
    assert [limits.admit(own, "messages", "m") for _ in range(3)] == [None] * 3
    assert _limits(FakeClock()).admit(plain, "messages", "m") is None  # nothing to check at all


def test_read_summary_skips_the_prompt_but_keeps_every_other_field() -> None:
    from loom.entrypoints.gateway.calllog import read_summary, render

    tricky = 'x", "usage": {"input_tokens": 999}, "system": "y' + ', "usage": ' + ', "system": '
    call = _logged_call(1)
    call.request = {"model": "claude-haiku-4-5", "system": tricky, "messages": [{"role": "user", "content": tricky}]}
    call.skill, call.error = tricky[:40], tricky
    record = render(call)
    line = json.dumps(record, ensure_ascii=False).encode()
    skipped = ("system", "messages", "response_text", "tool_calls", "stop_reason")
    assert read_summary(line) == {k: v for k, v in record.items() if k not in skipped}
    assert read_summary(b'{"ts": "x", "status": 1}') == {"ts": "x", "status": 1}  # another shape: parsed whole
    assert read_summary(b"[1, 2]") is None and read_summary(b'{"ts": "cut') is None
