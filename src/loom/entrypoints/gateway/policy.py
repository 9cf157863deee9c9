"""A key's limits: the `name=value` fields after tenant and owner on a keys-file line.

    lk-3f9a...  acme  alice  rpm=60 max_usd=25 budget_period=month models=claude-* max_parallel=4

| field | value | meaning |
|---|---|---|
| `max_usd` | number >= 0 | spend cap, priced from each answer's usage (spend.py) |
| `budget_period` | `day`, `month`, `total` (default) | the window `max_usd` applies to (UTC calendar) |
| `rpm` | integer >= 1 | requests in any rolling 60 s |
| `tpm` | integer >= 1 | tokens (input + cache + output) of answers in any rolling 60 s |
| `max_parallel` | integer >= 1 | calls in flight at once |
| `models` | comma list of names or globs | models this key may ask for (`claude-*,gpt-4o`) |
| `expires` | `YYYY-MM-DD` (valid through that UTC day) or an ISO time with offset | end of the key |

A value that does not parse is a ConfigError naming the file and line (never the key).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta, timezone
from fnmatch import fnmatchcase
from typing import Any

from loom.domain.errors import ConfigError

PERIODS = ("day", "month", "total")


@dataclass(frozen=True)
class KeyPolicy:
    """What one key may do. Every field is optional; the empty policy limits nothing."""

    max_usd: float | None = None
    budget_period: str = "total"
    rpm: int | None = None
    tpm: int | None = None
    max_parallel: int | None = None
    models: tuple[str, ...] = ()
    expires: float | None = None  # unix time from which the key is refused
    empty: bool = field(init=False, repr=False, compare=False)  # no limit at all (checked per call)

    def __post_init__(self) -> None:
        unset = (self.max_usd, self.rpm, self.tpm, self.max_parallel, self.expires)
        object.__setattr__(self, "empty", all(v is None for v in unset) and not self.models)

    @property
    def needs_usage(self) -> bool:
        """True when enforcing this policy needs each answer's usage at once (budget, tpm)."""
        return self.max_usd is not None or self.tpm is not None

    def allows_model(self, model: object) -> bool:
        if not self.models:
            return True
        return isinstance(model, str) and any(fnmatchcase(model, pattern) for pattern in self.models)

    def as_dict(self) -> dict[str, Any]:
        """The set fields, as a keys-file line would write them (for `loom proxy keys`)."""
        out: dict[str, Any] = {}
        if self.max_usd is not None:
            out["max_usd"] = self.max_usd
            out["budget_period"] = self.budget_period
        for name in ("rpm", "tpm", "max_parallel"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.models:
            out["models"] = ",".join(self.models)
        if self.expires is not None:
            out["expires"] = iso_utc(self.expires)
        return out

    def describe(self) -> str:
        parts = []
        for name, value in self.as_dict().items():
            if name == "budget_period":
                continue
            if name == "max_usd":
                value = f"{value:g}/{self.budget_period}"
            parts.append(f"{name}={value}")
        return " ".join(parts) or "-"


NO_LIMITS = KeyPolicy()
_NAMES = {f.name for f in fields(KeyPolicy) if f.init}


def iso_utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_policy(pairs: list[str], where: str) -> KeyPolicy:
    """`["rpm=60", "models=claude-*"]` -> KeyPolicy; errors name `where` (FILE:LINE) and the field."""
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"{where}: expected `name=value` after tenant and owner, got {pair!r}")
        if name not in _NAMES:
            raise ConfigError(f"{where}: unknown key limit {name!r} (known: {', '.join(sorted(_NAMES))})")
        if name in values:
            raise ConfigError(f"{where}: {name} is given twice")
        values[name] = _parse_value(name, raw, where)
    if "budget_period" in values and "max_usd" not in values:
        raise ConfigError(f"{where}: budget_period needs max_usd (the budget it applies to)")
    return KeyPolicy(**values)


def _parse_value(name: str, raw: str, where: str) -> Any:
    if name == "max_usd":
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{where}: max_usd must be a number >= 0, got {raw!r}")
        return value
    if name in ("rpm", "tpm", "max_parallel"):
        if not raw.isdigit() or int(raw) < 1:
            raise ConfigError(f"{where}: {name} must be a whole number >= 1, got {raw!r}")
        return int(raw)
    if name == "budget_period":
        if raw not in PERIODS:
            raise ConfigError(f"{where}: budget_period must be one of {', '.join(PERIODS)}, got {raw!r}")
        return raw
    if name == "models":
        patterns = tuple(p for p in raw.split(",") if p)
        if not patterns:
            raise ConfigError(f"{where}: models needs at least one name or glob (e.g. models=claude-*)")
        return patterns
    return _parse_expiry(raw, where)


def _parse_expiry(raw: str, where: str) -> float:
    """`2027-01-31` -> the start of 2027-02-01 UTC (the key works through that day); an ISO time
    must carry its offset (`2027-01-31T18:00:00+01:00` or `...Z`), so no server clock zone leaks in."""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            end = datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(days=1)
            return end.timestamp()
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{where}: expires must be a date (YYYY-MM-DD) or an ISO time, got {raw!r}") from None
    if moment.tzinfo is None:
        raise ConfigError(f"{where}: expires {raw!r} needs a UTC offset (e.g. {raw}Z), or give a plain date")
    return moment.timestamp()
