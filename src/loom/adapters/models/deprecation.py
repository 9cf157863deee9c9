"""Model facts from the installed anthropic SDK: the model names it knows and their end-of-life dates.

Two files of the SDK hold them: `anthropic/types/model.py` (the `Model` literal: every model name
the SDK was released with) and `anthropic/_data/deprecated_models.py` (`DEPRECATED_MODELS:
{model: "November 30th, 2026"}`). Both are read as text with regular expressions: importing the
SDK costs 1.4 s, and `ast.parse` is not thread-safe on CPython 3.11 (its AST constructor keeps a
per-interpreter recursion counter, so two threads parsing at once can raise `SystemError: AST
constructor recursion depth mismatch`). A missing or reshaped file yields no warning, never an error.

Checks built from a table only ever WARN: a configured Anthropic model the SDK does not list, or
one in its deprecation table, names the env var to change (LOOM_CODE_MODEL / LOOM_FEEDBACK_MODEL).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path

from loom.adapters.models.pricing import normalize, usd
from loom.application.config import DEFAULT_MODEL
from loom.domain.checks import Check, Level

ROLE_ENV = {"code": "LOOM_CODE_MODEL", "feedback": "LOOM_FEEDBACK_MODEL"}
_PAIR = re.compile(r"""["']([^"']+)["']\s*:\s*["']([^"']+)["']""")
_CLAUDE_NAME = re.compile(r"""["'](claude-[A-Za-z0-9.\-]+)["']""")


@dataclass(frozen=True)
class ModelTable:
    """What one anthropic SDK release says about model names (empty sets mean: nothing known)."""

    known: frozenset[str] = frozenset()  # normalized names the SDK lists
    end_of_life: Mapping[str, date] = field(default_factory=dict)  # normalized name -> date
    source: str = "anthropic SDK"

    def is_known(self, model: str) -> bool | None:
        """True/False for a Claude model name; None when the table cannot tell (not Claude, no list)."""
        name = normalize(model)
        if not name.startswith("claude") or not self.known:
            return None
        return name in self.known

    def eol(self, model: str) -> date | None:
        return self.end_of_life.get(normalize(model))


def parse_date(text: str) -> date | None:
    """"November 30th, 2026" -> date(2026, 11, 30)."""
    cleaned = re.sub(r"(\d)(st|nd|rd|th),", r"\1,", text.strip())
    for fmt in ("%B %d, %Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    return None


def parse_table(model_source: str, deprecated_source: str, source: str = "anthropic SDK") -> ModelTable:
    """A ModelTable from the text of the SDK's types/model.py and _data/deprecated_models.py."""
    known = frozenset(normalize(n) for n in _CLAUDE_NAME.findall(model_source))
    eol: dict[str, date] = {}
    body = deprecated_source.split("DEPRECATED_MODELS", 1)[-1] if "DEPRECATED_MODELS" in deprecated_source else ""
    for name, when in _PAIR.findall(body):
        parsed = parse_date(when)
        if parsed is not None:
            eol.setdefault(normalize(name), parsed)
    return ModelTable(known=known, end_of_life=eol, source=source)


def _sdk_file(*parts: str) -> str:
    try:
        spec = importlib.util.find_spec("anthropic")
    except (ImportError, ValueError):
        return ""
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root).joinpath(*parts)
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return ""


@cache
def sdk_table() -> ModelTable:
    """The installed SDK's table (empty when the SDK or its files are missing)."""
    version = re.search(r"""__version__\s*=\s*["']([^"']+)""", _sdk_file("_version.py"))
    return parse_table(_sdk_file("types", "model.py"), _sdk_file("_data", "deprecated_models.py"),
                       source=f"anthropic SDK {version.group(1)}" if version else "anthropic SDK")


def end_of_life(model: str, table: ModelTable | None = None) -> date | None:
    return (table or sdk_table()).eol(model)


def model_checks(models_by_role: dict[str, str], today: date | None = None,
                 table: ModelTable | None = None, max_usd: float | None = None) -> list[Check]:
    """One WARN per configured model that is past (or near) its end-of-life or unknown to the SDK,
    and, under a spend cap, per model without a known list price (the cap cannot count it).

    Naming the env vars of the roles that use it; never FAIL: the vendor has the last word.
    """
    table = table or sdk_table()
    today = today or date.today()
    checks = []
    for model in sorted(set(models_by_role.values())):
        names = " / ".join(ROLE_ENV[r] for r in sorted(models_by_role) if models_by_role[r] == model)
        when = table.eol(model)
        if when is not None:
            verb = "reached" if when <= today else "reaches"
            checks.append(Check(f"model {model}", Level.WARN,
                                f"{verb} end-of-life on {when.isoformat()} ({table.source} deprecation table)",
                                f"set {names} to a newer model"))
        elif table.is_known(model) is False:
            checks.append(Check(f"model {model}", Level.WARN,
                                f"unknown to the installed {table.source} (retired, or a typo?)",
                                f"set {names} to a model the SDK lists (Loom's default is {DEFAULT_MODEL})"))
        if max_usd is not None and usd(model, 1_000_000, 0) is None:
            checks.append(Check(f"price {model}", Level.WARN,
                                "no list price known: --max-usd / LOOM_MAX_USD cannot count its calls",
                                "cap the run with --steps instead, or use a model with a known price"))
    return checks

