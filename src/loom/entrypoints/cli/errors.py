"""The one place where errors become exit codes and one actionable line (DESIGN.md §4)."""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from loom.domain.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, LoomError, SecretFlagError

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


def run_guarded(call: Callable[[], Any], tokens: Sequence[str]) -> int:
    """Run the CLI, mapping LoomError -> its exit code and one line on stderr."""
    debug = "--debug" in tokens
    try:
        refuse_secret_flags(tokens)
        result = call()
    except LoomError as err:
        if debug:
            traceback.print_exc()
        print(f"loom: {err.line()}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("loom: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as exc:  # cyclopts: --help/--version (0), parse errors (2)
        code = exc.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_FAILURE)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a raw traceback
        if debug:
            traceback.print_exc()
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(
            f"loom: internal error: {type(exc).__name__}: {first} (run again with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    if isinstance(result, bool):
        return EXIT_OK
    return result if isinstance(result, int) else EXIT_OK
