#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, builds, starts a
# private PostgreSQL, runs the Swift unit/integration tests and the end-to-end tests that
# drive the real server with the official openai SDK. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

BIN="$(scripts/setup.sh)"
echo "==> building tests" >&2
swift build --build-tests >&2

# A private PostgreSQL for this run: own folder, Unix socket only, so it never clashes
# with another server on the machine.
PGDIR="$(mktemp -d /tmp/airlock-test-pg.XXXXXX)"
chmod 755 "$PGDIR"
stop_pg() { "$BIN" db stop --data-dir "$PGDIR" >/dev/null 2>&1 || true; rm -rf "$PGDIR"; }
trap stop_pg EXIT
export AIRLOCK_TEST_DATABASE_URL="$("$BIN" db start --data-dir "$PGDIR" --database airlock_test)"
echo "==> test database: $AIRLOCK_TEST_DATABASE_URL" >&2

status=0
echo "==> swift test" >&2
swift test --skip-build 2>&1 | tee /tmp/airlock-swift-test.log || status=1

echo "==> CLI smoke test (tenants, keys, providers, policies, admin audit)" >&2
Tests/cli/governance-smoke.sh "$BIN" "$AIRLOCK_TEST_DATABASE_URL" || status=1

echo "==> MoE conversion unit tests (airlock model moefy)" >&2
.venv/bin/python -m unittest -q scripts/engine/moe/test_moefy.py || status=1

echo "==> end-to-end tests (openai SDK)" >&2
AIRLOCK_BIN="$BIN" .venv/bin/python -m pytest -q tests/e2e -p no:cacheprovider "$@" || status=1

echo "==> web console in headless Chromium (screenshots in tests/browser/screenshots)" >&2
AIRLOCK_BIN="$BIN" .venv/bin/python -m pytest -q tests/browser -p no:cacheprovider || status=1

exit $status
