#!/usr/bin/env bash
# One idempotent command: creates .venv, installs Loom (editable) and everything it runs with.
#   ./install.sh          runtime: Loom + aideml (--no-deps) + what aide imports + the candidate ML env
#   ./install.sh --dev    also the test tools (pytest, import-linter, mypy)
# Nothing is downloaded except packages from the package registries.
set -euo pipefail
cd "$(dirname "$0")"

DEV=0
for arg in "$@"; do
  case "$arg" in
    --dev) DEV=1 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option '$arg' (use --dev or --help)" >&2; exit 2 ;;
  esac
done

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY="$cand"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "install.sh: Python >= 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 2; }

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
PIP=("$VPY" -m pip install --disable-pip-version-check --quiet)

echo "==> installing Loom (editable) + runtime dependencies + candidate ML environment"
extras="ml,aide"
[ "$DEV" = 1 ] && extras="ml,aide,dev"
"${PIP[@]}" -e ".[${extras}]"

echo "==> installing aideml 0.2.2 and nemo-automodel 0.7.0 without their pinned stacks (--no-deps)"
"${PIP[@]}" --no-deps "aideml==0.2.2" "nemo-automodel==0.7.0"

echo "==> checking the install"
"$VPY" - <<'PYCHECK'
import importlib, sys
mods = ["loom", "metaflow", "aide", "cyclopts", "dependency_injector", "pydantic_settings",
        "anthropic", "openai", "numpy", "pandas", "sklearn", "lightgbm", "nemo_automodel"]
bad = []
for m in mods:
    try:
        importlib.import_module(m)
    except Exception as exc:  # report every failure at once
        bad.append(f"{m}: {exc}")
if bad:
    print("install.sh: some modules do not import:\n  " + "\n  ".join(bad), file=sys.stderr)
    sys.exit(1)
PYCHECK

echo
echo "Loom is installed. Candidate solutions run with this interpreter by default;"
echo "to pin it explicitly (optional):"
echo "  export LOOM_PYTHON=$(pwd)/.venv/bin/python"
echo "Try:  .venv/bin/loom --help"
