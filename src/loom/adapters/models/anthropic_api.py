"""anthropic-api: the Anthropic Messages API (native tool use for the judge).

Key: ANTHROPIC_API_KEY, read at each call. Endpoint: ANTHROPIC_BASE_URL (config
`anthropic_base_url`) or the SDK default. The key goes out both as `Authorization: Bearer`
(what SDK 2.x sends) and `x-api-key` (what older SDKs and many gateways expect).
"""

from __future__ import annotations

import warnings
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


class AnthropicModel(LLMAdapter):
    """Claude through the Anthropic SDK; one client per instance (its own endpoint and key)."""

    name: ClassVar[str] = "anthropic-api"
    key_env: ClassVar[str | None] = "ANTHROPIC_API_KEY"
    requires_modules: ClassVar[tuple[str, ...]] = ("anthropic",)

    def __init__(self, config: "LoomConfig", credentials: Any = None) -> None:
        super().__init__(config, credentials)
        # The SDK warns on every call with a deprecated model; Loom's preflight warns once instead.
        warnings.filterwarnings("ignore", message=r"The model '.*' is deprecated", category=DeprecationWarning,
                                module=r"loom\.adapters\.models\.")

    def base_url(self) -> str | None:
        return self.config.anthropic_base_url

    def _client_for(self, key: str | None) -> Any:
        def build() -> Any:
            import anthropic

            return anthropic.Anthropic(
                api_key=key,
                base_url=self.base_url(),
                max_retries=self.config.llm_max_retries,
                timeout=self.config.llm_timeout,
                default_headers={"x-api-key": key} if key else None,
            )

        return self._cached_client(key, build)

    def _call(self, request: ChatRequest) -> RawReply:
        import anthropic

        client = self._client_for(self._key())
        system, user = request.system, request.user
        if not user:  # the Messages API needs one user turn
            system, user = None, system or ""
        kwargs: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            # no temperature: anthropic SDK 2.x dropped the parameter (the API has no sampling knob)
            "messages": [{"role": "user", "content": user}],
        }
        if system:
            kwargs["system"] = system
        if request.tool is not None:
            kwargs["tools"] = [{"name": request.tool.name, "description": request.tool.description,
                                "input_schema": request.tool.parameters}]
            kwargs["tool_choice"] = {"type": "tool", "name": request.tool.name}
        try:
            message = client.messages.create(**kwargs)
        except anthropic.APIError as exc:
            raise map_sdk_error(exc, self.name, self.key_env, request.model, self._client_key) from None
        text_parts, tool_args = [], None
        for block in message.content:
            if block.type == "tool_use" and request.tool is not None and block.name == request.tool.name:
                tool_args = block.input
            elif block.type == "text":
                text_parts.append(block.text)
        usage = message.usage
        return RawReply("".join(text_parts), tool_args, usage.input_tokens or 0, usage.output_tokens or 0)

    @classmethod
    def readiness(cls, config: "LoomConfig", credentials: "CredentialSource") -> list[Check]:
        checks = [module_check("anthropic"), key_check(credentials, cls.key_env or "", cls.name)]
        url = config.anthropic_base_url
        checks.append(Check("endpoint", Level.PASS, url or "Anthropic default (api.anthropic.com)"))
        return checks + model_checks(selected_models(config, cls.name), max_usd=config.max_usd)
