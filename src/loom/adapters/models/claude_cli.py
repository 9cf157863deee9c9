"""claude-subscription: the local `claude` CLI (Claude Code) and its login; no API key.

Each call is `claude -p --output-format json --model M --tools "" [--system-prompt S]` with the
prompt on stdin, in a scratch dir, without API keys in its environment. The judge's tool call is asked for as one JSON object matching the schema and coerced
from the reply text. Token counts and the CLI's own cost figure come from its JSON output.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, ClassVar

from loom.adapters.models.cli_base import CliModel, TransientCliError
from loom.adapters.models.common import RawReply, schema_prompt
from loom.application.redaction import scrub
from loom.domain.checks import Check, Level
from loom.domain.errors import MissingCredentialError
from loom.domain.llm import ChatRequest
from loom.domain.model_errors import ModelCallError


LOGIN_FIX = "run `claude` once and /login, or pick another --model-provider"
MAX_ARG_CHARS = 100_000  # Linux caps one argv string at 128 KiB
INSTALL = "install Claude Code (npm install -g @anthropic-ai/claude-code)"


class ClaudeCliModel(CliModel):
    name: ClassVar[str] = "claude-subscription"
    binary: ClassVar[str] = "claude"
    install_hint: ClassVar[str] = INSTALL
    login_fix: ClassVar[str] = LOGIN_FIX

    def _call(self, request: ChatRequest) -> RawReply:
        # --tools "": a pure chat call, the CLI runs no tool (no Bash, no file edits)
        argv = [self.executable(), "-p", "--output-format", "json", "--model", request.model, "--tools", ""]
        prompt = request.user or request.system or ""
        if request.system and request.user:
            if len(request.system) < MAX_ARG_CHARS:
                argv += ["--system-prompt", request.system]
            else:  # too long for one argv entry: it rides on stdin instead
                prompt = f"{request.system}\n\n{request.user}"
        if request.tool is not None:
            prompt += schema_prompt(request.tool)
        proc = self.run_cli(argv, prompt)
        result = _result(proc.stdout) or {}
        usage = result.get("usage") or {}
        n_in = sum(int(usage.get(k) or 0) for k in
                   ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
        cost = result.get("total_cost_usd")
        text = str(result.get("result") or "")
        return RawReply(text, None, n_in, int(usage.get("output_tokens") or 0),
                        float(cost) if isinstance(cost, (int, float)) else None)

    def check(self, proc: subprocess.CompletedProcess[str]) -> None:
        result = _result(proc.stdout)
        if result is not None and not result.get("is_error") and proc.returncode == 0:
            return
        message = scrub(str((result or {}).get("result") or proc.stderr or proc.stdout or "").strip()) or ""
        low = message.lower()
        if "/login" in low or "invalid api key" in low or "not logged in" in low or "oauth" in low:
            raise MissingCredentialError(f"the claude CLI is not logged in ({self.name})", hint=LOGIN_FIX)
        if self.transient(message):
            raise TransientCliError(message[:300])
        if result is None and proc.returncode == 0:
            raise ModelCallError(f"{self.name}: the claude CLI printed no JSON result", provider=self.name,
                                 hint="update Claude Code (`claude update`)")
        raise ModelCallError(f"{self.name}: claude exited {proc.returncode}: {message[:300]}", provider=self.name)

    @classmethod
    def login_check(cls, path: str) -> Check:
        if _login_file() is not None:
            return Check("claude login", Level.PASS, "credentials found")
        return Check("claude login", Level.WARN, "cannot confirm a login (it may be in the OS keychain)", LOGIN_FIX)


def _login_file() -> Path | None:
    root = Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")
    for candidate in (root / ".credentials.json", Path.home() / ".claude.json"):
        if candidate.is_file():
            return candidate
    return None


def _result(stdout: str) -> dict[str, Any] | None:
    """The CLI's result object (the whole stdout, or its last JSON line)."""
    text = (stdout or "").strip()
    for chunk in [text] + text.splitlines()[::-1]:
        try:
            value = json.loads(chunk)
        except (json.JSONDecodeError, ValueError):
            continue
        if isinstance(value, dict) and value.get("type") == "result":
            return value
    return None
