"""openrouter: OpenRouter's OpenAI-compatible chat; the model is a `provider/model` slug.

Key: OPENROUTER_API_KEY. Endpoint: config `openrouter_base_url` (LOOM_OPENROUTER_BASE_URL).
Whether a slug can do tool calls comes from OpenRouter's public model list
(`supported_parameters` holds "tools"), cached for a day under LOOM_HOME/cache. Offline, the
slug cannot be verified: preflight WARNs and the call is attempted.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from loom.adapters.models.common import judge_check, key_check, module_check, roles_for, selected_models
from loom.adapters.models.deprecation import model_checks
from loom.adapters.models.openai_chat import OpenAIChatModel
from loom.domain.checks import Check, Level

if TYPE_CHECKING:
    from loom.application.config import LoomConfig
    from loom.application.credentials import CredentialSource

log = logging.getLogger(__name__)
CACHE_TTL_S = 24 * 3600


class OpenRouterModel(OpenAIChatModel):
    name: ClassVar[str] = "openrouter"
    key_env: ClassVar[str | None] = "OPENROUTER_API_KEY"
    extra_headers: ClassVar[dict[str, str]] = {"X-Title": "Loom"}

    def base_url(self) -> str | None:
        return self.config.openrouter_base_url

    def supports_tools(self, model: str) -> bool:
        memo: dict[str, bool | None] = self.__dict__.setdefault("_tools_memo", {})
        if model not in memo:
            memo[model] = slug_tools(self.config, model)
        return memo[model] is not False  # unknown (offline) -> try the call

    @classmethod
    def readiness(cls, config: "LoomConfig", credentials: "CredentialSource") -> list[Check]:
        checks = [module_check("openai"), key_check(credentials, "OPENROUTER_API_KEY", cls.name)]
        selected = roles_for(config, cls.name)
        if not selected:  # not in use: no slug checks (and no network)
            return checks
        for role, slug in selected_models(config, cls.name).items():
            if "/" not in slug:
                checks.append(Check(f"{role} model", Level.FAIL, f"'{slug}' is not an OpenRouter slug",
                                    f"set LOOM_{role.upper()}_MODEL to provider/model, e.g. anthropic/claude-sonnet-4.5"))
                continue
            if role != "feedback":
                continue
            verdict = slug_tools(config, slug)
            if verdict is None:
                checks.append(Check("judge tools", Level.WARN, f"cannot verify '{slug}' supports tools offline",
                                    "the first judge call will tell"))
            else:
                failed = judge_check(config, cls.name, verdict, f"OpenRouter lists no tool support for '{slug}'")
                if failed is not None:
                    checks.append(failed)
                else:
                    checks.append(Check("judge tools", Level.PASS, f"'{slug}' supports tool calls"))
        return checks + model_checks(selected_models(config, cls.name), max_usd=config.max_usd)


def _cache_path(config: "LoomConfig") -> Path:
    return Path(config.home) / "cache" / "openrouter_models.json"


def _fetch(config: "LoomConfig") -> dict[str, bool] | None:
    url = config.openrouter_base_url.rstrip("/") + "/models"
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:  # public list, no key sent
            data = json.loads(resp.read())
    except (OSError, ValueError) as exc:
        log.debug("openrouter model list unavailable", extra={"error": type(exc).__name__})
        return None
    table = {}
    for item in data.get("data", []):
        params = item.get("supported_parameters")
        if isinstance(params, list):
            table[str(item.get("id"))] = "tools" in params
    return table


def model_table(config: "LoomConfig") -> dict[str, bool] | None:
    """{slug: supports tools}, from the day-old cache or the network; None when neither works."""
    path = _cache_path(config)
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if cached.get("url") == config.openrouter_base_url and time.time() - cached["at"] < CACHE_TTL_S:
            return dict(cached["models"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    table = _fetch(config)
    if table:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            payload = {"url": config.openrouter_base_url, "at": time.time(), "models": table}
            path.write_text(json.dumps(payload), encoding="utf-8")
        except OSError:
            pass
    return table


def slug_tools(config: "LoomConfig", slug: str) -> bool | None:
    """True / False from OpenRouter's list; None when the slug cannot be verified (offline/unlisted)."""
    table = model_table(config)
    if not table or slug not in table:
        return None
    return table[slug]
