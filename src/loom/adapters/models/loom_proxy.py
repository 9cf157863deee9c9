"""loom-proxy: Loom's own gateway (`loom proxy serve`), spoken to as the Anthropic Messages API.

Key: LOOM_API_KEY (the gateway key, never a vendor key). Endpoint: LOOM_API_BASE (config
`api_base`, default http://127.0.0.1:8088). The gateway holds the vendor key on its side.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from loom.adapters.models.anthropic_api import AnthropicModel
from loom.adapters.models.common import key_check, module_check, selected_models
from loom.adapters.models.deprecation import model_checks
from loom.domain.checks import Check, Level

if TYPE_CHECKING:
    from loom.application.config import LoomConfig
    from loom.application.credentials import CredentialSource


class LoomProxyModel(AnthropicModel):
    """The Anthropic client pointed at the Loom gateway with LOOM_API_KEY."""

    name: ClassVar[str] = "loom-proxy"
    key_env: ClassVar[str | None] = "LOOM_API_KEY"

    def base_url(self) -> str | None:
        return self.config.api_base.rstrip("/")

    @classmethod
    def readiness(cls, config: "LoomConfig", credentials: "CredentialSource") -> list[Check]:
        checks = [module_check("anthropic"), key_check(credentials, "LOOM_API_KEY", cls.name)]
        checks.append(_reachable(config.api_base))
        return checks + model_checks(selected_models(config, cls.name), max_usd=config.max_usd)


def _reachable(url: str) -> Check:
    """A TCP connect to the gateway (0.5 s); unreachable is a WARN: it may start later."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return Check("gateway", Level.PASS, f"{url} is reachable")
    except OSError:
        return Check("gateway", Level.WARN, f"{url} is not reachable now",
                     "start it with `loom proxy serve`, or set LOOM_API_BASE to the hosted gateway")
