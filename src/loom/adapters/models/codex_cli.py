"""codex-subscription: the local `codex` CLI and its login (~/.codex/auth.json); no API key.

Each call is `codex exec --json --skip-git-repo-check -s read-only -m M [--output-schema F] -`
with the prompt on stdin, in a scratch dir. The judge's schema goes to `--output-schema`
(made strict: every property required, no extra properties). Token counts come from the
`turn.completed` event.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from loom.adapters.models.cli_base import CliModel, TransientCliError
from loom.adapters.models.common import RawReply, schema_prompt
from loom.application.redaction import scrub
from loom.domain.checks import Check, Level
from loom.domain.errors import MissingCredentialError
from loom.domain.llm import ChatRequest
from loom.domain.model_errors import ModelCallError


LOGIN_FIX = "run `codex login`, or pick another --model-provider"
INSTALL = "install the Codex CLI (npm install -g @openai/codex)"


class CodexCliModel(CliModel):
    name: ClassVar[str] = "codex-subscription"
    binary: ClassVar[str] = "codex"
    install_hint: ClassVar[str] = INSTALL
    login_fix: ClassVar[str] = LOGIN_FIX

    def _call(self, request: ChatRequest) -> RawReply:
        argv = [self.executable(), "exec", "--json", "--skip-git-repo-check", "-s", "read-only",
                "-m", request.model]
        prompt = "\n\n".join(p for p in (request.system, request.user) if p)
        with tempfile.TemporaryDirectory(prefix="loom-codex-") as tmp:
            if request.tool is not None:
                schema_file = Path(tmp) / "schema.json"
                schema_file.write_text(json.dumps(strict_schema(request.tool.parameters)), encoding="utf-8")
                argv += ["--output-schema", str(schema_file)]
                prompt += schema_prompt(request.tool)
            proc = self.run_cli(argv + ["-"], prompt)
        text, n_in, n_out = "", 0, 0
        for event in _events(proc.stdout):
            item = event.get("item") or {}
            if event.get("type") == "item.completed" and item.get("type") == "agent_message":
                text = str(item.get("text") or "")
            elif event.get("type") == "turn.completed":
                usage = event.get("usage") or {}
                n_in += int(usage.get("input_tokens") or 0)
                n_out += int(usage.get("output_tokens") or 0)
        return RawReply(text, None, n_in, n_out)

    def check(self, proc: subprocess.CompletedProcess[str]) -> None:
        failures = [str((e.get("error") or {}).get("message") or e.get("message") or "")
                    for e in _events(proc.stdout) if e.get("type") in ("turn.failed", "error")]
        if proc.returncode == 0 and not failures:
            if not any(e.get("type") == "item.completed" for e in _events(proc.stdout)):
                raise ModelCallError(f"{self.name}: codex printed no agent message", provider=self.name,
                                     hint="update the Codex CLI")
            return
        message = scrub(" ".join(failures + [proc.stderr or ""]).strip()) or ""
        low = message.lower()
        if "not logged in" in low or "codex login" in low or "401" in low or "unauthorized" in low:
            raise MissingCredentialError(f"the codex CLI is not logged in ({self.name})", hint=LOGIN_FIX)
        if self.transient(message):
            raise TransientCliError(message[:300])
        raise ModelCallError(f"{self.name}: codex exited {proc.returncode}: {message[:300]}", provider=self.name)

    @classmethod
    def login_check(cls, path: str) -> Check:
        try:
            status = subprocess.run([path, "login", "status"], capture_output=True, text=True, timeout=10,
                                    env=CliModel.child_env())
            logged_in = status.returncode == 0
            detail = (status.stderr or status.stdout).strip().splitlines()[-1:] or [""]
        except (OSError, subprocess.TimeoutExpired):
            logged_in, detail = _auth_file().is_file(), [f"auth file {_auth_file()}"]
        if logged_in:
            return Check("codex login", Level.PASS, detail[0] or "logged in")
        return Check("codex login", Level.FAIL, detail[0] or "not logged in", LOGIN_FIX)


def _auth_file() -> Path:
    return Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex") / "auth.json"


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAI structured-output rules: objects list every property as required, no extras."""
    out = copy.deepcopy(schema or {"type": "object", "properties": {}})

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object":
                node.setdefault("properties", {})
                node["required"] = list(node["properties"])
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(out)
    return out


def _events(stdout: str) -> list[dict[str, Any]]:
    events = []
    for line in (stdout or "").splitlines():
        try:
            value = json.loads(line)
        except (json.JSONDecodeError, ValueError):
            continue
        if isinstance(value, dict):
            events.append(value)
    return events
