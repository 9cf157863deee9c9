"""What the subscription bridges (claude, codex CLIs) share: finding the binary, a clean child
environment, a bounded retry on transient upstream errors.

The child never sees API keys: the subscription login is what these routes are for, and a key
in the environment would silently switch the CLI to pay-per-token billing.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from typing import TYPE_CHECKING, ClassVar

from loom.adapters.models.common import LLMAdapter, selected_models
from loom.adapters.models.deprecation import model_checks
from loom.application.credentials import looks_secret
from loom.domain.checks import Check, Level
from loom.domain.errors import ConfigError
from loom.domain.model_errors import ModelCallError

if TYPE_CHECKING:
    from loom.application.config import LoomConfig
    from loom.application.credentials import CredentialSource

log = logging.getLogger("loom.models")

_TRANSIENT = re.compile(r"\b(429|500|502|503|504|529)\b|rate.?limit|overloaded|timed? ?out|temporar", re.I)


class TransientCliError(Exception):
    """Internal: worth retrying (rate limit, 5xx, timeout)."""


class CliModel(LLMAdapter):
    """Runs one CLI call per request; subclasses build argv and parse stdout."""

    binary: ClassVar[str] = ""
    install_hint: ClassVar[str] = ""
    login_fix: ClassVar[str] = ""
    priced: ClassVar[bool] = False

    @classmethod
    def readiness(cls, config: "LoomConfig", credentials: "CredentialSource") -> list[Check]:
        """The binary on PATH, the subscription login (`login_check`), the model's end-of-life."""
        path = shutil.which(cls.binary)
        label = f"{cls.binary} CLI"
        if not path:
            checks = [Check(label, Level.FAIL, "not on PATH", f"{cls.install_hint}, then {cls.login_fix}")]
        else:
            checks = [Check(label, Level.PASS, path), cls.login_check(path)]
        return checks + model_checks(selected_models(config, cls.name), max_usd=config.max_usd)

    @classmethod
    def login_check(cls, path: str) -> Check:
        """Whether the CLI at `path` is logged in (subclasses know how to ask)."""
        raise NotImplementedError

    def executable(self) -> str:
        path = shutil.which(self.binary)
        if not path:
            raise ConfigError(f"the `{self.binary}` CLI is not on PATH ({self.name})",
                              hint=f"{self.install_hint}, or pick another --model-provider")
        return path

    @staticmethod
    def child_env() -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not looks_secret(k)}

    def run_cli(self, argv: list[str], stdin: str) -> subprocess.CompletedProcess[str]:
        """Run the CLI in a scratch dir; retried with backoff while the failure looks transient."""
        attempts = self.config.llm_max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                with tempfile.TemporaryDirectory(prefix="loom-cli-") as scratch:
                    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, cwd=scratch,
                                          env=self.child_env(), timeout=self.config.llm_timeout)
                self.check(proc)
                return proc
            except (subprocess.TimeoutExpired, TransientCliError) as exc:
                why = "timed out" if isinstance(exc, subprocess.TimeoutExpired) else str(exc)
                if attempt == attempts:
                    raise ModelCallError(f"{self.name} failed after {attempts} tries: {why}", provider=self.name,
                                         hint="try again later or raise LOOM_LLM_MAX_RETRIES") from None
                log.warning("cli call retry", extra={"provider": self.name, "attempt": attempt, "problem": why[:200]})
                time.sleep(min(0.25 * 2 ** (attempt - 1), 8.0))
        raise AssertionError("unreachable")

    def check(self, proc: subprocess.CompletedProcess[str]) -> None:
        """Raise on a failed call: TransientCliError, or a LoomError with the actionable line."""
        raise NotImplementedError

    @staticmethod
    def transient(text: str) -> bool:
        return bool(_TRANSIENT.search(text or ""))
