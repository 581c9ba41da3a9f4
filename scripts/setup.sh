#!/usr/bin/env bash
# Prepares a fresh Linux machine: PostgreSQL server binaries, the Python environment for
# the end-to-end tests (official openai SDK), the local model, and the build.
# Idempotent: re-running skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
CONFIG="${AIRLOCK_BUILD_CONFIG:-debug}"

say() { printf '==> %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. PostgreSQL server binaries (initdb, pg_ctl, postgres).
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && ! command -v pg_ctl >/dev/null 2>&1; then
    say "installing PostgreSQL"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
fi
# Debian's package starts a cluster of its own on 5432; Airlock never needs it (it runs its
# own server on a private Unix socket), so it is left alone.
if ! id postgres >/dev/null 2>&1; then
    say "creating the postgres system user"
    as_root useradd --system --home /var/lib/postgresql --shell /bin/bash postgres
fi

# 1b. Chromium (Debian package) for the web console's browser test.
if [ "${AIRLOCK_SKIP_BROWSER:-0}" != "1" ] && ! command -v chromium >/dev/null 2>&1; then
    say "installing Chromium"
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null 2>&1 \
        || { as_root apt-get update -qq; DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null; }
fi

# 2. Python environment for the SDK end-to-end tests.
if [ "${AIRLOCK_SKIP_PYTHON:-0}" != "1" ]; then
    if [ ! -x .venv/bin/python ]; then
        say "creating .venv"
        python3 -m venv .venv
    fi
    if ! .venv/bin/python -c "import openai, pytest, httpx, websocket, numpy, gguf" >/dev/null 2>&1; then
        say "installing Python test packages"
        .venv/bin/pip install -q --disable-pip-version-check -r tests/e2e/requirements.txt
    fi
fi

# 3. The local model for the in-process engine.
if [ -x scripts/engine/fetch-model.sh ] && [ "${AIRLOCK_SKIP_MODEL:-0}" != "1" ]; then
    scripts/engine/fetch-model.sh
fi

# 4. Build.
say "building airlock ($CONFIG)"
swift build -c "$CONFIG" --product airlock >&2
echo "$ROOT/.build/$CONFIG/airlock"
