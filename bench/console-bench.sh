#!/usr/bin/env bash
# Console render timings at ~1 million audit rows.
#   bench/console-bench.sh POSTGRES_URL [BIN]
# Seeds a scratch database with `airlock audit bench --query-rows 1000000 --keep`
# (1,000,000 synthetic rows over 30 days and 20 tenants t0..t19 + 5,000 real chained events),
# creates the tenants and an admin operator, starts `airlock serve` on it, signs in with curl
# and prints each page's server time (Server-Timing app;dur, median of 5 after one warm-up)
# and the end-to-end time curl saw. SKIP_SEED=1 reuses an existing scratch database.
set -euo pipefail
cd "$(dirname "$0")/.."
URL="$1"
BIN="${2:-.build/release/airlock}"
DB=airlock_console_bench
PORT="${PORT:-18499}"
BENCH_URL="$(python3 -c "import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path='/$DB')))" "$URL")"
if [ "${SKIP_SEED:-0}" != "1" ]; then
    "$BIN" audit bench --database-url "$URL" --events 5000 --producers 2 --query-rows 1000000 --database "$DB" --keep >/dev/null
fi
export AIRLOCK_DATABASE_URL="$BENCH_URL"
for i in $(seq 0 19); do "$BIN" tenant create "t$i" --name "Tenant $i" >/dev/null 2>&1 || true; done
TOKEN="$("$BIN" operator create --name bench --role admin 2>/dev/null)"
AIRLOCK_LOCAL_MODEL=/nonexistent "$BIN" serve --port "$PORT" >/tmp/airlock-console-bench.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
JAR="$(mktemp)"
NONCE="$(curl -s -c "$JAR" -b "$JAR" "http://127.0.0.1:$PORT/console/sign-in" | grep -o '[0-9a-f]\{64\}' | awk 'NR==1')"
curl -s -c "$JAR" -b "$JAR" -o /dev/null -X POST "http://127.0.0.1:$PORT/console/sign-in" --data "_csrf=$NONCE&token=$TOKEN"
EVENT="$(curl -s -b "$JAR" "http://127.0.0.1:$PORT/console/audit?tenant=t7" | grep -o '/console/audit/event/[0-9a-f-]\{36\}' | awk 'NR==1')"
ROWS="$(psql "$BENCH_URL" -Atc 'SELECT count(*) FROM audit_events' 2>/dev/null || echo '?')"
echo "audit rows: $ROWS"
printf '%-58s %10s %10s\n' "page" "server ms" "curl ms"
for path in \
    "/console/overview?range=24h" "/console/overview?range=7d" "/console/overview?range=30d" "/console/overview?range=all" \
    "/console/overview?range=7d&tenant=t7" \
    "/console/audit" "/console/audit?tenant=t7" "/console/audit?decision=blocked" "/console/audit?tenant=t7&decision=blocked" \
    "/console/audit?entity=KR_RRN" "/console/audit?region=cn" "/console/audit?model=gpt-4o-mini" \
    "/console/audit?tenant=t7&from=$(date -u -d '-3 days' +%Y-%m-%d)&to=$(date -u -d '-2 days' +%Y-%m-%d)" \
    "$EVENT" "/console/verification" "/console/retention" "/console/policies" "/console/access" \
    "/console/audit/export?tenant=t7&from=$(date -u -d '-1 days' +%Y-%m-%dT%H:%M)&format=csv"; do
    curl -s -o /dev/null -b "$JAR" "http://127.0.0.1:$PORT$path"
    server=(); total=()
    for _ in 1 2 3 4 5; do
        out="$(curl -s -o /dev/null -D - -w 'total=%{time_total}\n' -b "$JAR" "http://127.0.0.1:$PORT$path")"
        server+=("$(echo "$out" | tr -d '\r' | sed -n 's/^server-timing: app;dur=//p')")
        total+=("$(echo "$out" | sed -n 's/^total=//p')")
    done
    ms="$(printf '%s\n' "${server[@]}" | sort -n | sed -n 3p)"
    tot="$(printf '%s\n' "${total[@]}" | sort -n | sed -n 3p)"
    printf '%-58s %10s %10.1f\n' "${path:0:58}" "${ms:--}" "$(echo "$tot * 1000" | bc)"
done
