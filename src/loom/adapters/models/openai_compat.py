"""openai-compat: any OpenAI-compatible server (LiteLLM, vLLM, Ollama) at LOOM_MODEL_BASE_URL.

Key: OPENAI_API_KEY, optional (local servers need none; then a placeholder bearer is sent).
Whether the judge route can do tools is configured with LOOM_COMPAT_TOOLS (default true).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from loom.adapters.models.common import judge_check, key_check, module_check, selected_models
from loom.adapters.models.deprecation import model_checks
from loom.adapters.models.openai_chat import OpenAIChatModel
from loom.domain.checks import Check, Level

if TYPE_CHECKING:
    from loom.application.config import LoomConfig
    from loom.application.credentials import CredentialSource


class OpenAICompatModel(OpenAIChatModel):
    name: ClassVar[str] = "openai-compat"
    key_env: ClassVar[str | None] = "OPENAI_API_KEY"
    key_optional: ClassVar[bool] = True
    priced: ClassVar[bool] = False  # a self-hosted model's price is unknown, not list price

    def base_url(self) -> str | None:
        return self.config.model_base_url

    def supports_tools(self, model: str) -> bool:
        return self.config.compat_tools

    @classmethod
    def readiness(cls, config: "LoomConfig", credentials: "CredentialSource") -> list[Check]:
        checks = [module_check("openai")]
        if config.model_base_url:
            checks.append(Check("LOOM_MODEL_BASE_URL", Level.PASS, config.model_base_url))
        else:
            checks.append(Check("LOOM_MODEL_BASE_URL", Level.FAIL, "not set",
                                "export LOOM_MODEL_BASE_URL=http://host:port/v1 (your LiteLLM/vLLM/Ollama server)"))
        checks.append(key_check(credentials, "OPENAI_API_KEY", cls.name, optional=True))
        judge = judge_check(config, cls.name, config.compat_tools, "LOOM_COMPAT_TOOLS=false")
        return checks + ([judge] if judge else []) + model_checks(selected_models(config, cls.name), max_usd=config.max_usd)
