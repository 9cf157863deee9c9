"""nim: NVIDIA NIM (OpenAI-compatible chat). Key NVIDIA_API_KEY; endpoint OPENAI_BASE_URL.

Default endpoint: NVIDIA's integrate API. Whether the judge route can do tools is configured
with LOOM_NIM_TOOLS (default true): some NIM models serve chat without function calling.
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

DEFAULT_BASE_URL = "https://integrate.api.nvidia.com/v1"


class NimModel(OpenAIChatModel):
    name: ClassVar[str] = "nim"
    key_env: ClassVar[str | None] = "NVIDIA_API_KEY"
    default_base_url: ClassVar[str | None] = DEFAULT_BASE_URL
    priced: ClassVar[bool] = False  # NIM prices differ from the vendors' list prices

    def base_url(self) -> str | None:
        return self.config.openai_base_url or DEFAULT_BASE_URL

    def supports_tools(self, model: str) -> bool:
        return self.config.nim_tools

    @classmethod
    def readiness(cls, config: "LoomConfig", credentials: "CredentialSource") -> list[Check]:
        checks = [module_check("openai"), key_check(credentials, "NVIDIA_API_KEY", cls.name),
                  Check("endpoint", Level.PASS, config.openai_base_url or DEFAULT_BASE_URL)]
        judge = judge_check(config, cls.name, config.nim_tools, "LOOM_NIM_TOOLS=false")
        return checks + ([judge] if judge else []) + model_checks(selected_models(config, cls.name), max_usd=config.max_usd)
