"""What every model adapter shares: the call loop, tool-argument checks, usage, error mapping.

A subclass implements `_call(request) -> RawReply` (one upstream call, SDK retries inside) and
declares `name`, `key_env` and friends. `complete` adds the judge rule (a malformed tool call is
retried once, then JudgeError), usage with price (None when unknown), and a log line that never
holds a secret (only provider, model, tokens, latency).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from loom.adapters.models import pricing
from loom.application.credentials import CredentialSource, as_credential_source
from loom.application.redaction import scrub
from loom.domain.checks import Check, Level
from loom.domain.errors import ConfigError, LoomError, MissingCredentialError
from loom.domain.llm import ChatRequest, ChatResponse, ToolSpec, Usage
from loom.domain.model_errors import JudgeError, MalformedToolCall, ModelCallError, ToolsUnsupportedError

if TYPE_CHECKING:
    from loom.application.config import LoomConfig

log = logging.getLogger("loom.models")

ROLES = ("code", "feedback")


@dataclass
class RawReply:
    """One upstream answer: text, or tool arguments (a dict, or a raw string still to parse)."""

    text: str | None = None
    tool_args: Any = None
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float | None = None  # set by adapters whose upstream reports a cost (claude CLI)


class LLMAdapter:
    """Shared behaviour of the eight providers. Each instance owns its client (no global state)."""

    name: ClassVar[str] = ""
    key_env: ClassVar[str | None] = None  # the secret this provider sends upstream
    key_optional: ClassVar[bool] = False
    requires_modules: ClassVar[tuple[str, ...]] = ()
    priced: ClassVar[bool] = True  # False: never look the model up in the price table

    def __init__(self, config: "LoomConfig", credentials: CredentialSource | Any = None) -> None:
        self.config = config
        self.credentials = as_credential_source(credentials)
        self._lock = threading.Lock()
        self._client: Any = None
        self._client_key: str | None = None
        self.total_usage = Usage(usd=0.0)

    def __repr__(self) -> str:  # never shows a key
        return f"{type(self).__name__}(name={self.name!r})"

    # ---- to implement --------------------------------------------------------------------
    def _call(self, request: ChatRequest) -> RawReply:
        raise NotImplementedError

    def supports_tools(self, model: str) -> bool:
        """Whether this route can do the judge's tool call for `model`."""
        return True

    # ---- shared --------------------------------------------------------------------------
    def _key(self) -> str | None:
        """The secret, read now (point of use). Missing and required -> MissingCredentialError."""
        if self.key_env is None:
            return None
        value = self.credentials.get(self.key_env)
        if not value and not self.key_optional:
            raise MissingCredentialError(missing_key_line(self.key_env, self.name))
        return value

    def _cached_client(self, key: str | None, build: Any) -> Any:
        """One client per adapter instance; rebuilt only when the key changes."""
        with self._lock:
            if self._client is None or key != self._client_key:
                self._client = build()
                self._client_key = key
            return self._client

    def complete(self, request: ChatRequest) -> ChatResponse:
        if request.tool is not None and not self.supports_tools(request.model):
            raise ToolsUnsupportedError(tools_unsupported_line(self.name, request.model))
        started = time.monotonic()
        total = Usage(usd=0.0)  # the sum stays None once one attempt's price is unknown
        attempts = 2 if request.tool is not None else 1  # a malformed tool call is retried once
        last_error = ""
        for attempt in range(1, attempts + 1):
            raw = self._call_guarded(request)
            total = total + self._usage(request.model, raw, time.monotonic() - started - total.latency_s)
            if request.tool is None:
                return self._done(request, ChatResponse(raw.text or "", None, total, self.name, request.model))
            try:
                args = check_tool_args(request.tool, raw.tool_args if raw.tool_args is not None else raw.text)
            except MalformedToolCall as exc:
                last_error = str(exc)
                log.warning("malformed tool call", extra={"provider": self.name, "model": request.model,
                                                          "attempt": attempt, "problem": last_error})
                continue
            return self._done(request, ChatResponse(None, args, total, self.name, request.model))
        with self._lock:
            self.total_usage = self.total_usage + total
        tool_name = request.tool.name if request.tool is not None else "?"
        raise JudgeError(
            f"the judge ({self.name}, {request.model}) did not return a valid '{tool_name}' "
            f"tool call after {attempts} tries: {last_error}",
            provider=self.name,
            hint="pick a stronger tool-capable feedback model (LOOM_FEEDBACK_MODEL / --feedback-provider)",
        )

    def _call_guarded(self, request: ChatRequest) -> RawReply:
        """`_call`, with any unexpected exception turned into a ModelCallError (never a crash)."""
        try:
            return self._call(request)
        except LoomError:
            raise
        except Exception as exc:  # an SDK oddity, a reply shape we did not foresee
            detail = _short(_scrubbed(str(exc), self._client_key, self.key_env))
            raise ModelCallError(f"{self.name} call failed: {type(exc).__name__}: {detail}",
                                 provider=self.name) from exc

    def _usage(self, model: str, raw: RawReply, latency: float) -> Usage:
        usd = raw.usd
        if usd is None and self.priced:
            usd = pricing.usd(model, raw.input_tokens, raw.output_tokens)
        return Usage(raw.input_tokens, raw.output_tokens, max(latency, 0.0), usd)

    def _done(self, request: ChatRequest, response: ChatResponse) -> ChatResponse:
        with self._lock:
            self.total_usage = self.total_usage + response.usage
        log.debug("llm call", extra={
            "provider": self.name, "model": request.model, "tool": request.tool.name if request.tool else None,
            "input_tokens": response.usage.input_tokens, "output_tokens": response.usage.output_tokens,
            "latency_s": round(response.usage.latency_s, 3), "usd": response.usage.usd,
        })
        return response


# ---- tool arguments ----------------------------------------------------------------------
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "boolean": (bool,), "integer": (int,), "number": (int, float),
    "object": (dict,), "array": (list,), "null": (type(None),),
}


def parse_json_object(text: str) -> dict[str, Any]:
    """A JSON object out of model text: bare, fenced, or the first {...} in prose."""
    candidates = [text.strip()] + [m.strip() for m in _FENCE.findall(text)]
    start = text.find("{")
    if start >= 0:
        candidates.append(text[start:])
    for candidate in candidates:
        try:
            value, _ = json.JSONDecoder().raw_decode(candidate)
        except (json.JSONDecodeError, ValueError):
            continue
        if isinstance(value, dict):
            return value
    raise MalformedToolCall("the reply holds no JSON object")


def check_tool_args(tool: ToolSpec, args: Any) -> dict[str, Any]:
    """Arguments that fit the tool's schema (required keys, top-level types); numbers as floats."""
    if isinstance(args, str):
        args = parse_json_object(args)
    if not isinstance(args, dict):
        raise MalformedToolCall(f"arguments are {type(args).__name__}, not an object")
    schema = tool.parameters or {}
    props: dict[str, Any] = schema.get("properties") or {}
    missing = [key for key in schema.get("required") or [] if key not in args]
    if missing:
        raise MalformedToolCall(f"missing required argument(s): {', '.join(missing)}")
    out = dict(args)
    for key, sub in props.items():
        if key not in out or not isinstance(sub, dict) or "type" not in sub:
            continue
        kinds = sub["type"] if isinstance(sub["type"], list) else [sub["type"]]
        value = out[key]
        allowed = tuple(t for k in kinds for t in _TYPES.get(k, (object,)))
        if isinstance(value, bool) and "boolean" not in kinds and bool not in allowed:
            raise MalformedToolCall(f"argument '{key}' is a boolean, expected {'/'.join(kinds)}")
        if not isinstance(value, allowed):
            raise MalformedToolCall(f"argument '{key}' is {type(value).__name__}, expected {'/'.join(kinds)}")
        if "number" in kinds and isinstance(value, int) and not isinstance(value, bool):
            out[key] = float(value)  # AIDE treats an integer metric as a bug
    return out


def schema_prompt(tool: ToolSpec) -> str:
    """The instruction that asks a text-only route (the CLIs) for the tool's arguments as JSON."""
    return (
        f"\n\nAnswer by calling the function '{tool.name}' ({tool.description}). Reply with ONLY one "
        f"JSON object (no prose, no code fence) with its arguments, matching this JSON schema: "
        f"{json.dumps(tool.parameters, sort_keys=True)}"
    )


# ---- errors ------------------------------------------------------------------------------
def missing_key_line(env: str, provider: str) -> str:
    return (f"set {env} in the environment for the {provider} model provider, "
            f"or pick a --model-provider (see `loom providers`)")


def tools_unsupported_line(provider: str, model: str) -> str:
    return (f"the feedback route {provider} ({model}) cannot do tool calls; pick a tool-capable "
            f"feedback model (--feedback-provider / LOOM_FEEDBACK_MODEL)")


def map_sdk_error(exc: Exception, provider: str, key_env: str | None, model: str,
                  key: str | None = None) -> LoomError:
    """An anthropic/openai SDK exception -> a Loom error with one actionable line (no secrets).

    The upstream's error body is scrubbed before it is cut: an upstream that echoes the request
    headers must not put `key` (the key this adapter sent), any secret of the environment, or a
    `Bearer ...` / `x-api-key: ...` value into the message (stderr, manifest.json, MCP replies).
    """
    status = getattr(exc, "status_code", None)
    kind = type(exc).__name__
    detail = _short(_scrubbed(getattr(exc, "message", None) or str(exc), key, key_env))
    if status in (401, 403):
        who = key_env or "the credentials"
        return MissingCredentialError(f"{provider} rejected {who} (HTTP {status}): check the key, "
                                      f"or pick a --model-provider")
    if status == 404:
        return ConfigError(f"{provider}: model '{model}' or its endpoint was not found (HTTP 404): {detail}")
    if status is not None and 400 <= status < 500 and status != 429:
        return ModelCallError(f"{provider} refused the request (HTTP {status}): {detail}", provider=provider)
    what = f"HTTP {status}" if status else kind
    return ModelCallError(f"{provider} call failed after retries ({what}): {detail}", provider=provider,
                          hint="the provider may be overloaded; try again or raise LOOM_LLM_MAX_RETRIES")


def _scrubbed(text: str, key: str | None, key_env: str | None) -> str:
    return scrub(str(text), {key: key_env or "API_KEY"} if key else None) or ""


def _short(text: str, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


# ---- readiness ---------------------------------------------------------------------------
def roles_for(config: "LoomConfig", provider: str) -> list[str]:
    """The roles that select `provider` (empty: not selected)."""
    return [role for role in ROLES if config.role_provider(role)[0] == provider]


def selected_models(config: "LoomConfig", provider: str) -> dict[str, str]:
    """{role: model} for the roles that select `provider` only (model facts such as end-of-life)."""
    return {role: config.role_model(role) for role in roles_for(config, provider)}


def key_check(credentials: CredentialSource, env: str, provider: str, optional: bool = False) -> Check:
    if credentials.get(env):
        return Check(env, Level.PASS, "set (value not shown)")
    if optional:
        return Check(env, Level.PASS, "not set (optional for this endpoint)")
    return Check(env, Level.FAIL, "not set", missing_key_line(env, provider))


def module_check(module: str) -> Check:
    from loom.application.ports.readiness import module_available

    if module_available(module):
        return Check(f"import {module}", Level.PASS, "available")
    return Check(f"import {module}", Level.FAIL, "not installed", "run ./install.sh")


def judge_check(config: "LoomConfig", provider: str, capable: bool, why: str = "") -> Check | None:
    """FAIL when this provider is the feedback route and cannot do tools; WARN when unselected."""
    if capable:
        return None
    detail = f"no tool calls{(': ' + why) if why else ''}"
    if "feedback" in roles_for(config, provider):
        return Check("judge tools", Level.FAIL, detail, tools_unsupported_line(provider, config.role_model("feedback")))
    if roles_for(config, provider):
        return None  # code role only: tools are not needed
    return Check("judge tools", Level.WARN, detail, "fine for --code-provider; not usable as the judge")
