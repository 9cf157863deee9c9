"""Model end-of-life dates, read from the installed anthropic SDK's own deprecation table.

The table lives in `anthropic/_data/deprecated_models.py` (`DEPRECATED_MODELS: {model: date}`).
It is parsed as text (ast), so this never imports the SDK (1.4 s); a missing or reshaped table
simply yields no warning.
"""

from __future__ import annotations

import ast
import importlib.util
from datetime import date, datetime
from functools import cache
from pathlib import Path

from loom.adapters.models.pricing import normalize
from loom.domain.checks import Check, Level


@cache
def sdk_table() -> dict[str, str]:
    """{model: "November 30th, 2026"} from the anthropic SDK (empty when not found)."""
    try:
        spec = importlib.util.find_spec("anthropic")
    except (ImportError, ValueError):
        return {}
    if spec is None or not spec.submodule_search_locations:
        return {}
    for root in spec.submodule_search_locations:
        path = Path(root) / "_data" / "deprecated_models.py"
        if path.is_file():
            return _parse(path.read_text(encoding="utf-8"))
    return {}


def _parse(source: str) -> dict[str, str]:
    for node in ast.walk(ast.parse(source)):
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and node.targets:
            target, value = node.targets[0], node.value
        if isinstance(target, ast.Name) and target.id == "DEPRECATED_MODELS" and value is not None:
            try:
                table = ast.literal_eval(value)
            except ValueError:
                return {}
            return {str(k): str(v) for k, v in table.items()} if isinstance(table, dict) else {}
    return {}


def parse_date(text: str) -> date | None:
    """"November 30th, 2026" -> date(2026, 11, 30)."""
    cleaned = text.replace("st,", ",").replace("nd,", ",").replace("rd,", ",").replace("th,", ",")
    for fmt in ("%B %d, %Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(cleaned.strip(), fmt).date()
        except ValueError:
            continue
    return None


def end_of_life(model: str) -> date | None:
    table = sdk_table()
    raw = table.get(model) or table.get(normalize(model))
    return parse_date(raw) if raw else None


def eol_checks(models_by_role: dict[str, str], today: date | None = None) -> list[Check]:
    """One WARN per deprecated model (naming the env vars of the roles that use it); never FAIL."""
    env = {"code": "LOOM_CODE_MODEL", "feedback": "LOOM_FEEDBACK_MODEL"}
    today = today or date.today()
    checks = []
    for model in sorted(set(models_by_role.values())):
        when = end_of_life(model)
        if when is None:
            continue
        names = " / ".join(env[r] for r in sorted(models_by_role) if models_by_role[r] == model)
        verb = "reached" if when <= today else "reaches"
        checks.append(Check(
            f"model {model}", Level.WARN,
            f"{verb} end-of-life on {when.isoformat()} (anthropic SDK deprecation table)",
            f"set {names} to a newer model",
        ))
    return checks
