"""The OpenAI Chat Completions base shared by openrouter, nim and openai-compat.

Each instance owns its client (its own base URL and key), so two roles on two different
OpenAI-compatible endpoints work at once. The judge is a forced function call; a reply with no
tool call but a JSON object in its text is accepted too (common on local servers).
"""

from __future__ import annotations

from typing import Any, ClassVar

from loom.adapters.models.common import LLMAdapter, RawReply, map_sdk_error
from loom.domain.errors import ConfigError
from loom.domain.llm import ChatRequest

NO_KEY = "not-needed"  # local servers accept any bearer; the SDK refuses an empty one


class OpenAIChatModel(LLMAdapter):
    """Subclasses set `name`, `key_env`, `default_base_url` / override `base_url()`."""

    requires_modules: ClassVar[tuple[str, ...]] = ("openai",)
    default_base_url: ClassVar[str | None] = None
    extra_headers: ClassVar[dict[str, str]] = {}

    def base_url(self) -> str | None:
        return self.default_base_url

    def _client_for(self, key: str | None) -> Any:
        url = self.base_url()
        if not url:
            raise ConfigError(f"{self.name} has no endpoint configured",
                              hint="set LOOM_MODEL_BASE_URL (openai-compat) or OPENAI_BASE_URL (nim)")

        def build() -> Any:
            import openai

            return openai.OpenAI(
                api_key=key or NO_KEY,
                base_url=url,
                max_retries=self.config.llm_max_retries,
                timeout=self.config.llm_timeout,
                default_headers=self.extra_headers or None,
            )

        return self._cached_client(key, build)

    def _messages(self, request: ChatRequest) -> list[dict[str, str]]:
        messages = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        if request.user:
            messages.append({"role": "user", "content": request.user})
        if not request.user:  # some servers need a user turn
            messages = [{"role": "user", "content": request.system or ""}]
        return messages

    def _call(self, request: ChatRequest) -> RawReply:
        import openai

        client = self._client_for(self._key())
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": self._messages(request),
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.tool is not None:
            kwargs["tools"] = [{"type": "function", "function": {
                "name": request.tool.name, "description": request.tool.description,
                "parameters": request.tool.parameters}}]
            kwargs["tool_choice"] = {"type": "function", "function": {"name": request.tool.name}}
        try:
            completion = client.chat.completions.create(**kwargs)
        except openai.APIError as exc:
            raise map_sdk_error(exc, self.name, self.key_env, request.model, self._client_key) from None
        if not completion.choices:
            return RawReply("", None, *_usage(completion))
        message = completion.choices[0].message
        tool_args = None
        for call in message.tool_calls or []:
            function = getattr(call, "function", None)
            if function is not None and request.tool is not None and function.name == request.tool.name:
                tool_args = function.arguments
                break
        return RawReply(message.content or "", tool_args, *_usage(completion))


def _usage(completion: Any) -> tuple[int, int]:
    usage = getattr(completion, "usage", None)
    if usage is None:
        return 0, 0
    return int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0)
