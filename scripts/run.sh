#!/usr/bin/env bash
# Builds Airlock (release), prepares everything it needs and starts the gateway on
# 127.0.0.1:8080 with a managed PostgreSQL. Extra arguments go to `airlock serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(AIRLOCK_BUILD_CONFIG=release AIRLOCK_SKIP_PYTHON=1 scripts/setup.sh)"
exec "$BIN" serve "$@"
