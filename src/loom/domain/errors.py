"""Loom's error model.

Every error a user can cause carries the one actionable line to show and the exit code
(0 ok, 1 failure, 2 usage/config, 3 refused by a gate). The CLI maps them in one place
(`loom.entrypoints.cli.errors`); the library raises them and never exits.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_INTERRUPTED = 130


class LoomError(Exception):
    """Base of every error Loom raises on purpose. `str(err)` is the actionable line."""

    exit_code: int = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def line(self) -> str:
        """The one line shown to the user (message plus hint, if any)."""
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(LoomError):
    """Bad input from the user: a missing file, a bad flag value, an empty dataset."""

    exit_code = EXIT_USAGE


class ConfigError(LoomError):
    """Bad configuration: unknown key, bad value, unknown provider, missing credential."""

    exit_code = EXIT_USAGE


class UnknownProviderError(ConfigError):
    """A provider name that no registry entry or entry point knows."""

    def __init__(self, port: str, name: str, valid: list[str]) -> None:
        super().__init__(
            f"unknown {port} provider '{name}'; valid names: {', '.join(sorted(valid))}"
        )
        self.port, self.name, self.valid = port, name, sorted(valid)


class MissingCredentialError(ConfigError):
    """A selected provider needs a secret that the environment does not hold."""


class SecretFlagError(UsageError):
    """A secret was passed as a flag; secrets come only from the environment."""


class NotBuiltYetError(UsageError):
    """A verb whose issue has not landed yet."""


class RefusedError(LoomError):
    """A gate refused the action (exit 3). `status` is the REFUSED_* status."""

    exit_code = EXIT_REFUSED

    def __init__(self, message: str, *, status: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class ExecutionFailed(LoomError):
    """Something Loom ran failed for real (a flow, a launch); exit 1."""


class LeaksFound(LoomError):
    """`loom run --leaks fail`: the leak screen flagged columns; nothing was run (exit 1)."""

    def __init__(self, message: str, *, flags: list[dict[str, str]], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.flags = flags
