"""openai-api: OpenAI's Responses API (function calling for the judge).

Key: OPENAI_API_KEY, read at each call. Endpoint: api.openai.com, or OPENAI_BASE_URL when set
(config `openai_base_url`, the same variable the openai SDK honours).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from loom.adapters.models.common import (
    LLMAdapter,
    RawReply,
    key_check,
    map_sdk_error,
    module_check,
    selected_models,
)
from loom.adapters.models.deprecation import model_checks
from loom.domain.checks import Check, Level
from loom.domain.llm import ChatRequest

if TYPE_CHECKING:
    from loom.application.config import LoomConfig
    from loom.application.credentials import CredentialSource

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIResponsesModel(LLMAdapter):
    """GPT models through `client.responses.create`; one client per instance."""

    name: ClassVar[str] = "openai-api"
    key_env: ClassVar[str | None] = "OPENAI_API_KEY"
    requires_modules: ClassVar[tuple[str, ...]] = ("openai",)

    def base_url(self) -> str:
        return self.config.openai_base_url or DEFAULT_BASE_URL

    def _call(self, request: ChatRequest) -> RawReply:
        import openai

        key = self._key()

        def build() -> Any:
            return openai.OpenAI(api_key=key, base_url=self.base_url(),
                                 max_retries=self.config.llm_max_retries, timeout=self.config.llm_timeout)

        client = self._cached_client(key, build)
        kwargs: dict[str, Any] = {
            "model": request.model,
            "input": request.user if request.user else (request.system or ""),
            "max_output_tokens": request.max_tokens,
        }
        if request.system and request.user:
            kwargs["instructions"] = request.system
        if not request.model.startswith(("o1", "o3", "o4", "gpt-5")):  # reasoning models reject it
            kwargs["temperature"] = request.temperature
        if request.tool is not None:
            kwargs["tools"] = [{"type": "function", "name": request.tool.name,
                                "description": request.tool.description,
                                "parameters": request.tool.parameters, "strict": False}]
            kwargs["tool_choice"] = {"type": "function", "name": request.tool.name}
        try:
            response = client.responses.create(**kwargs)
        except openai.APIError as exc:
            raise map_sdk_error(exc, self.name, self.key_env, request.model, self._client_key) from None
        text_parts: list[str] = []
        tool_args = None
        for item in response.output or []:
            if item.type == "function_call" and request.tool is not None and item.name == request.tool.name:
                tool_args = item.arguments
            elif item.type == "message":
                text_parts.extend(c.text for c in item.content if getattr(c, "type", "") == "output_text")
        usage = response.usage
        n_in, n_out = (usage.input_tokens or 0, usage.output_tokens or 0) if usage else (0, 0)
        return RawReply("".join(text_parts), tool_args, n_in, n_out)

    @classmethod
    def readiness(cls, config: "LoomConfig", credentials: "CredentialSource") -> list[Check]:
        return [
            module_check("openai"),
            key_check(credentials, "OPENAI_API_KEY", cls.name),
            Check("endpoint", Level.PASS, config.openai_base_url or DEFAULT_BASE_URL),
            *model_checks(selected_models(config, cls.name), max_usd=config.max_usd),
        ]
