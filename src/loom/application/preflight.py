"""Model preflight: are the providers the two roles select ready, before any spend?

`preflight_models(config, credentials)` returns every check of the selected model providers
(each adapter's `readiness`), deduplicated (one provider serving both roles, or one deprecated
model used by both, is reported once). `require_models_ready(config, credentials)` raises the
first FAIL as one actionable line (exit 2) and logs each WARN once per process, never blocking.

Adapter classes are found through `resolve` (`provider name -> adapter class`), which the
container hands in (the provider registry's lookup), so this layer never imports an adapter.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from loom.application.credentials import KNOWN_SECRET_ENV, CredentialSource, as_credential_source
from loom.application.ports.readiness import readiness
from loom.domain.checks import Check, Level
from loom.domain.errors import ConfigError, MissingCredentialError
from loom.domain.model_errors import ToolsUnsupportedError

if TYPE_CHECKING:
    from loom.application.config import LoomConfig

log = logging.getLogger("loom.preflight")

Resolver = Callable[[str], Any]
ROLES = ("code", "feedback")

_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def selected_providers(config: "LoomConfig") -> dict[str, list[str]]:
    """{provider: [roles]} for the two roles, in role order."""
    out: dict[str, list[str]] = {}
    for role in ROLES:
        out.setdefault(config.role_provider(role)[0], []).append(role)
    return out


def preflight_models(
    config: "LoomConfig",
    credentials: CredentialSource | Any = None,
    *,
    resolve: Resolver,
) -> list[Check]:
    """Every readiness check of the selected model providers; subjects read `provider (roles): what`."""
    source = as_credential_source(credentials)
    lookup = resolve
    checks: list[Check] = []
    seen: set[tuple[str, str, str]] = set()
    for provider, roles in selected_providers(config).items():
        label = f"{provider} ({'/'.join(roles)})"
        try:
            adapter_cls = lookup(provider)
        except ConfigError:
            raise
        except Exception as exc:  # a broken plugin is a FAIL line, not a crash
            checks.append(Check(f"{label}: adapter", Level.FAIL, f"cannot load: {type(exc).__name__}: {exc}",
                                "reinstall with ./install.sh"))
            continue
        for check in readiness(adapter_cls, config, source):
            key = (check.subject, check.level.value, check.detail)
            if check.subject.startswith("model ") and key in seen:
                continue  # one deprecated model shared by two providers: report it once
            seen.add(key)
            checks.append(Check(f"{label}: {check.subject}", check.level, check.detail, check.fix))
    return checks


def require_models_ready(
    config: "LoomConfig",
    credentials: CredentialSource | Any = None,
    *,
    resolve: Resolver,
) -> list[Check]:
    """Raise the first FAIL (exit 2, one line); log each WARN once per process; return the WARNs."""
    checks = preflight_models(config, credentials, resolve=resolve)
    for check in checks:
        if check.level is Level.FAIL:
            raise failure_error(check)
    warnings = [c for c in checks if c.level is Level.WARN]
    for check in warnings:
        key = (check.subject.split(": ", 1)[-1], check.detail)
        with _warned_lock:
            if key in _warned:
                continue
            _warned.add(key)
        log.warning("%s: %s%s", check.subject, check.detail, f" ({check.fix})" if check.fix else "")
    return warnings


def failure_error(check: Check) -> ConfigError:
    """The one actionable line for a FAIL check, as the right error type (all exit 2)."""
    what = check.subject.split(": ", 1)[-1]
    if what == "judge tools":
        return ToolsUnsupportedError(check.fix or f"{check.subject}: {check.detail}")
    if what in KNOWN_SECRET_ENV or "login" in what:
        return MissingCredentialError(check.fix or f"{check.subject}: {check.detail}")
    return ConfigError(f"{check.subject}: {check.detail}" + (f"; {check.fix}" if check.fix else ""))
