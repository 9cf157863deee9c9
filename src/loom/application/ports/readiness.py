"""Readiness of adapters for `loom providers` / `loom doctor` (no adapter is built for this)."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from loom.domain.checks import Check, Level

if TYPE_CHECKING:
    from loom.application.config import LoomConfig
    from loom.application.credentials import CredentialSource


def module_available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def generic_readiness(adapter_cls: Any, config: "LoomConfig", credentials: "CredentialSource") -> list[Check]:
    """Checks from an adapter's `requires_modules` / `requires_env` (never shows key values)."""
    checks: list[Check] = []
    for module in getattr(adapter_cls, "requires_modules", ()):
        if module_available(module):
            checks.append(Check(f"import {module}", Level.PASS, "available"))
        else:
            checks.append(Check(f"import {module}", Level.FAIL, "not installed", "run ./install.sh"))
    for name in getattr(adapter_cls, "requires_env", ()):
        if credentials.get(name):
            checks.append(Check(name, Level.PASS, "set"))
        else:
            checks.append(Check(name, Level.FAIL, "not set", f"export {name}=... (environment only)"))
    return checks


def readiness(adapter_cls: Any, config: "LoomConfig", credentials: "CredentialSource") -> list[Check]:
    custom = getattr(adapter_cls, "readiness", None)
    if callable(custom):
        return list(custom(config, credentials))
    return generic_readiness(adapter_cls, config, credentials)
