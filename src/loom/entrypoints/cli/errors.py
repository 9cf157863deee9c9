"""The one place where errors become exit codes and one actionable line (DESIGN.md §4).

With `--json`, an error also prints one JSON object on stdout (`status`, `exit_code`, `message`,
`hint`), the same object the MCP server returns for a failed tool call (`error_object`).
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from loom.domain.errors import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    ConfigError,
    LoomError,
    MissingCredentialError,
    RefusedError,
    SecretFlagError,
    UsageError,
)

# LOOM_HOME of the verb being run (set when it loads its config): an OSError inside it is LOOM_HOME's
# fault (a file, a read-only disk), reported as a config error naming it, not an internal error.
_HOME: ContextVar[Path | None] = ContextVar("loom_cli_home", default=None)


def note_home(home: Path) -> None:
    """Record the running verb's LOOM_HOME (common.load_config does)."""
    _HOME.set(Path(home))


def as_loom_error(exc: BaseException) -> LoomError | None:
    """A known non-Loom exception as the LoomError a user can act on (an OSError in LOOM_HOME)."""
    from loom.application.local_setup import home_os_error

    return home_os_error(exc, _HOME.get())


# --api-key, --token, --anthropic-api-key, --openai-key, --secret, --password, ...
_SECRET_FLAG = re.compile(r"^--(?:[a-z0-9-]+-)?(?:api-keys?|keys?|tokens?|secret|password)(?:=.*)?$", re.I)


def secret_flag_env(flag: str) -> str:
    """The env var a refused secret flag should have been (a best guess, for the hint)."""
    name = flag.split("=", 1)[0].lstrip("-").upper().replace("-", "_")
    if name in ("API_KEY", "KEY", "TOKEN", "API_KEYS", "KEYS", "TOKENS", "SECRET", "PASSWORD"):
        return "ANTHROPIC_API_KEY / OPENAI_API_KEY / LOOM_API_KEY (the selected provider's key)"
    if name.endswith("_KEY") and not name.endswith("API_KEY"):
        name = name[: -len("_KEY")] + "_API_KEY"
    return name


def refuse_secret_flags(tokens: Sequence[str]) -> None:
    """Secrets are never flags: refuse `--api-key`, `--token`, `--*-key` before parsing."""
    for token in tokens:
        if token == "--":
            break
        if _SECRET_FLAG.match(token):
            flag = token.split("=", 1)[0]
            raise SecretFlagError(
                f"refusing {flag}: secrets are never passed as flags; "
                f"export {secret_flag_env(flag)} in the environment instead"
            )


def wants_json(tokens: Sequence[str]) -> bool:
    """`--json` anywhere before `--` (before or after the verb)."""
    for token in tokens:
        if token == "--":
            return False
        if token == "--json":
            return True
    return False


def error_status(err: BaseException) -> str:
    """The machine-readable status of an error: REFUSED_* for a gate, else its family."""
    if isinstance(err, RefusedError):
        return err.status
    if isinstance(err, MissingCredentialError):
        return "MISSING_CREDENTIAL"
    if isinstance(err, ConfigError):
        return "CONFIG_ERROR"
    if isinstance(err, UsageError):
        return "USAGE_ERROR"
    if isinstance(err, KeyboardInterrupt):
        return "INTERRUPTED"
    if isinstance(err, LoomError):
        return "FAILED"
    return "INTERNAL_ERROR"


def error_object(err: BaseException, *, exit_code: int | None = None, message: str | None = None,
                 hint: str | None = None) -> dict[str, Any]:
    """One JSON-ready object for an error: {status, exit_code, message, hint} (secrets redacted)."""
    from loom.entrypoints.logging import redact_text, secret_values

    if isinstance(err, LoomError):
        code, text, tip = err.exit_code, err.message, err.hint
    elif isinstance(err, KeyboardInterrupt):
        code, text, tip = EXIT_INTERRUPTED, "interrupted", None
    else:
        first = str(err).splitlines()[0] if str(err) else ""
        code, text, tip = EXIT_FAILURE, f"internal error: {type(err).__name__}: {first}".rstrip(": "), \
            "run again with --debug for the traceback"
    secrets = secret_values()
    text = redact_text(message if message is not None else text, secrets)
    tip = hint if hint is not None else tip
    return {"status": error_status(err), "exit_code": exit_code if exit_code is not None else code,
            "message": text, "hint": None if tip is None else redact_text(tip, secrets)}


def _print_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def run_guarded(call: Callable[[], Any], tokens: Sequence[str]) -> int:
    """Run the CLI, mapping LoomError -> its exit code and one line on stderr.

    With `--json` the error is also one JSON object on stdout (`error_object`); parse errors
    from cyclopts (raised, not printed, in that mode) become a USAGE_ERROR object.
    """
    debug = "--debug" in tokens
    as_json = wants_json(tokens)
    try:
        refuse_secret_flags(tokens)
        result = call()
    except LoomError as err:
        return _report(err, debug, as_json)
    except KeyboardInterrupt as err:
        print("loom: interrupted", file=sys.stderr)
        if as_json:
            _print_json(error_object(err))
        return EXIT_INTERRUPTED
    except SystemExit as exc:  # cyclopts: --help/--version (0), parse errors (2)
        code = exc.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_FAILURE)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a raw traceback
        if _is_parse_error(exc):  # raised, not printed, by `main` (app.py)
            message = parse_error_line(exc)
            print(f"loom: {message}", file=sys.stderr)
            if as_json:
                _print_json(error_object(UsageError(message), hint="see `loom VERB --help` for the flags"))
            return EXIT_USAGE
        known = as_loom_error(exc)
        if known is not None:
            return _report(known, debug, as_json)
        if debug:
            traceback.print_exc()
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(
            f"loom: internal error: {type(exc).__name__}: {first} (run again with --debug for the traceback)",
            file=sys.stderr,
        )
        if as_json:
            _print_json(error_object(exc))
        return EXIT_FAILURE
    if isinstance(result, bool):
        return EXIT_OK
    return result if isinstance(result, int) else EXIT_OK


def _report(err: LoomError, debug: bool, as_json: bool) -> int:
    """One `loom:` line (and the JSON object with --json) for a LoomError; its exit code."""
    if debug:
        traceback.print_exc()
    print(f"loom: {err.line()}", file=sys.stderr)
    if as_json:
        _print_json(error_object(err))
    return err.exit_code


def parse_error_line(exc: BaseException) -> str:
    """A cyclopts message (it may wrap or list choices over lines) flattened to one line."""
    return " ".join(part.strip() for part in str(exc).splitlines() if part.strip()) or "bad command line"


def _is_parse_error(exc: BaseException) -> bool:
    """A cyclopts CycloptsError (checked by module, so this file never imports cyclopts)."""
    return any(cls.__module__.startswith("cyclopts") and cls.__name__ == "CycloptsError" for cls in type(exc).__mro__)
