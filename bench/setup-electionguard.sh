#!/usr/bin/env bash
# Create /work/main/.venv-eg (repo root/.venv-eg) with a Python 3.10 interpreter and
# install ElectionGuard 1.4.0 into it. Idempotent: re-running only checks/repairs.
#
# ElectionGuard 1.4.0 fails to import on Python 3.11+ and pins old dependencies
# (pydantic 1.9.0, gevent, Eel, pymongo, ...), so it gets its own virtualenv and
# must never be installed into the project's .venv.
set -euo pipefail

EG_VERSION="1.4.0"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${EG_VENV:-$REPO_ROOT/.venv-eg}"

die() { echo "setup-electionguard: error: $*" >&2; exit 1; }
log() { echo "setup-electionguard: $*" >&2; }

is_py310() {
    [ -n "$1" ] && [ -x "$1" ] &&
        "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null
}

find_python310() {
    local cand prefix
    if [ -n "${PYTHON310:-}" ]; then
        is_py310 "$PYTHON310" && { echo "$PYTHON310"; return 0; }
        die "PYTHON310=$PYTHON310 is not a Python 3.10 interpreter"
    fi
    if command -v pyenv >/dev/null 2>&1; then
        prefix="$(pyenv prefix 3.10 2>/dev/null || true)"
        if [ -z "$prefix" ]; then
            # `pyenv prefix 3.10` needs an exact name on older pyenv; pick the newest 3.10.x.
            cand="$(pyenv versions --bare 2>/dev/null | grep -E '^3\.10\.[0-9]+$' | sort -t. -k3 -n | tail -n1 || true)"
            [ -n "$cand" ] && prefix="$(pyenv prefix "$cand" 2>/dev/null || true)"
        fi
        for cand in "$prefix/bin/python3.10" "$prefix/bin/python3"; do
            is_py310 "$cand" && { echo "$cand"; return 0; }
        done
    fi
    for cand in /root/.pyenv/versions/3.10.13/bin/python3.10 "$(command -v python3.10 2>/dev/null || true)"; do
        is_py310 "$cand" && { echo "$cand"; return 0; }
    done
    return 1
}

installed_ok() {
    [ -x "$VENV/bin/python" ] &&
        "$VENV/bin/python" - "$EG_VERSION" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
if sys.version_info[:2] != (3, 10) or version("electionguard") != sys.argv[1]:
    sys.exit(1)
import electionguard.ballot, electionguard.tally  # noqa: F401  (fails on 3.11+)
EOF
}

if installed_ok; then
    log "$VENV already has electionguard $EG_VERSION on Python 3.10; nothing to do."
    exit 0
fi

PY310="$(find_python310)" || die "no Python 3.10 interpreter found (tried PYTHON310, 'pyenv prefix 3.10', /root/.pyenv/versions/3.10.13, python3.10 on PATH). Install one, e.g. 'pyenv install 3.10.13', or set PYTHON310=/path/to/python3.10."
log "using $PY310 ($("$PY310" -V 2>&1))"

if [ -e "$VENV" ] && ! is_py310 "$VENV/bin/python"; then
    die "$VENV exists but is not a Python 3.10 virtualenv; remove it and re-run."
fi
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PY310" -m venv "$VENV" || die "could not create virtualenv $VENV"
fi

log "installing electionguard==$EG_VERSION (this pulls many dependencies)"
"$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip setuptools wheel \
    || die "pip could not upgrade pip/setuptools/wheel in $VENV"
"$VENV/bin/python" -m pip install --disable-pip-version-check "electionguard==$EG_VERSION" \
    || die "pip install electionguard==$EG_VERSION failed"

installed_ok || die "electionguard $EG_VERSION installed but does not import in $VENV"
log "done: $VENV/bin/python bench/electionguard_bench.py --help"
