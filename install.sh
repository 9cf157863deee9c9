#!/usr/bin/env bash
# One idempotent command: creates .venv and installs exactly the locked set (lock/*.txt, hashes checked).
#   ./install.sh                   runtime: Loom (editable) + the candidate ML env + what aide imports,
#                                  then aideml and nemo-automodel with --no-deps
#   ./install.sh --dev             also the test and lint tools (pytest, import-linter, mypy)
#   ./install.sh --relock          re-resolve lock/*.txt from pyproject.toml + lock/*.in (keeps current
#                                  pins where they still fit; add --upgrade to move every pin), then install
#   ./install.sh --check-lock      exit 1 when lock/*.txt no longer matches pyproject.toml + lock/*.in
# Nothing is downloaded except packages from the package registries.
set -euo pipefail
cd "$(dirname "$0")"

DEV=0 RELOCK=0 UPGRADE=0 CHECK=0
for arg in "$@"; do
  case "$arg" in
    --dev) DEV=1 ;;
    --relock) RELOCK=1; DEV=1 ;;
    --upgrade) UPGRADE=1 ;;
    --check-lock) CHECK=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done
[ "$UPGRADE" = 0 ] || [ "$RELOCK" = 1 ] || { echo "install.sh: --upgrade goes with --relock" >&2; exit 2; }

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY="$cand"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "install.sh: Python >= 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 2; }

started=$SECONDS
VPY=.venv/bin/python
UV=.venv/bin/uv
# uv reads no pip.conf: carry a pip index mirror over when one is set in the environment.
if [ -n "${PIP_INDEX_URL:-}" ] && [ -z "${UV_DEFAULT_INDEX:-}" ]; then export UV_DEFAULT_INDEX="$PIP_INDEX_URL"; fi

if [ ! -x "$VPY" ]; then
  echo "==> creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi

uv_version=$(sed -n 's/^uv==\([^ ]*\).*/\1/p' lock/uv.txt)
uv_installed() { "$UV" --version 2>/dev/null | awk '{print $2}'; }
if [ "$(uv_installed)" != "$uv_version" ]; then
  echo "==> bootstrapping the installer (uv $uv_version, hash-checked)"
  # pip warns about index folders some machines configure but lack; that line is not about this install.
  "$VPY" -m pip install --disable-pip-version-check --quiet --no-deps --require-hashes -r lock/uv.txt 2>&1 \
    | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  [ "$(uv_installed)" = "$uv_version" ] || { echo "install.sh: could not install uv $uv_version" >&2; exit 1; }
fi

compile() {  # compile OUT IN [uv pip compile options...]: write one lock file
  local out=$1 in=$2; shift 2
  "$UV" pip compile --quiet --python "$VPY" --generate-hashes --custom-compile-command "./install.sh --relock" \
    "$in" -o "$out" "$@"
}

relock() {  # relock DIR [--upgrade]: resolve every lock file into DIR
  local dir=$1; shift
  mkdir -p "$dir"
  if [ "$dir" != lock ]; then  # start from the committed pins, so only what changed moves
    for f in dev runtime no-deps uv; do
      if [ -f "lock/$f.txt" ]; then cp "lock/$f.txt" "$dir/$f.txt"; fi
    done
  fi
  compile "$dir/dev.txt" lock/dev.in "$@"
  # runtime is the dev set minus the dev tools, at the same versions
  grep -v '^-e ' "$dir/dev.txt" > "$dir/.dev-constraints.txt"
  compile "$dir/runtime.txt" lock/runtime.in -c "$dir/.dev-constraints.txt" "$@"
  rm -f "$dir/.dev-constraints.txt"
  compile "$dir/no-deps.txt" lock/no-deps.in --no-deps "$@"
  compile "$dir/uv.txt" lock/uv.in "$@"
}

pins() { grep -h -E '^[A-Za-z0-9._-]+==' "$@" | sed 's/ .*//' | sort; }

if [ "$CHECK" = 1 ]; then
  echo "==> checking that lock/ matches pyproject.toml and lock/*.in"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  relock "$tmp"
  if ! diff <(pins lock/*.txt) <(pins "$tmp"/*.txt) >/dev/null; then
    echo "install.sh: the lock is stale; run ./install.sh --relock and commit lock/. Differences (< lock, > now):" >&2
    diff <(pins lock/*.txt) <(pins "$tmp"/*.txt) >&2 || true
    exit 1
  fi
  echo "==> lock/ is up to date"
  exit 0
fi

if [ "$RELOCK" = 1 ]; then
  echo "==> resolving lock/*.txt$([ "$UPGRADE" = 1 ] && echo ' (every package to its newest allowed version)')"
  if [ "$UPGRADE" = 1 ]; then relock lock --upgrade; else relock lock; fi
fi

set_name=runtime
[ "$DEV" = 1 ] && set_name=dev
echo "==> installing the locked $set_name set (Loom editable, candidate ML env, aide and nemo-automodel --no-deps)"
# sync = exactly the lock: adds what is missing, removes what the lock does not list.
# --compile-bytecode: uv does not write .pyc files by default, and with PYTHONDONTWRITEBYTECODE set
# (or a read-only site-packages) every Python process would recompile its imports from source:
# that doubled the start-up of each Metaflow task and card process (bench/metaflow_overhead.py).
"$UV" pip sync --quiet --compile-bytecode --python "$VPY" "lock/$set_name.txt" lock/no-deps.txt
# Loom itself is installed editable (its .py files stay in src/): compile them too.
"$VPY" -m compileall -q -j 0 src >/dev/null || true

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

echo "==> done in $((SECONDS - started)) s. Candidates and flows run with $(pwd)/.venv/bin/python"
echo "    (set LOOM_PYTHON to use another interpreter). Try: .venv/bin/loom --help"
