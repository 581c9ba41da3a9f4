#!/usr/bin/env bash
# Console render timings at ~1 million audit rows.
#   bench/console-bench.sh POSTGRES_URL [BIN]
# Seeds a scratch database with `airlock audit bench --query-rows 1000000 --keep`
# (1,000,000 synthetic rows over 30 days and 20 tenants t0..t19 + 5,000 real chained events),
# creates the tenants and an admin operator, starts `airlock serve` on it, waits until the
# overview rollups have caught up (printing how long the first refresh took), signs in with
# curl and prints each page's server time (Server-Timing app;dur, median of 5 after one
# warm-up) and the end-to-end time curl saw. Then it restarts the server with
# AIRLOCK_CONSOLE_ROLLUPS=off and times the overview pages again (the live aggregation they
# used before the rollups). SKIP_SEED=1 reuses an existing scratch database.
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
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null || true' EXIT
JAR="$(mktemp)"

start() {  # start [ENV=VALUE…]: serve on $PORT and sign in
    env "$@" AIRLOCK_LOCAL_MODEL=/nonexistent "$BIN" serve --port "$PORT" >>/tmp/airlock-console-bench.log 2>&1 &
    PID=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
    : >"$JAR"
    NONCE="$(curl -s -c "$JAR" -b "$JAR" "http://127.0.0.1:$PORT/console/sign-in" | grep -o '[0-9a-f]\{64\}' | awk 'NR==1')"
    curl -s -c "$JAR" -b "$JAR" -o /dev/null -X POST "http://127.0.0.1:$PORT/console/sign-in" --data "_csrf=$NONCE&token=$TOKEN"
}

stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }

measure() {  # measure PATH…: median server and curl time of 5 requests after a warm-up
    printf '%-58s %10s %10s\n' "page" "server ms" "curl ms"
    for path in "$@"; do
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
}

OVERVIEW=("/console/overview?range=24h" "/console/overview?range=7d" "/console/overview?range=30d" "/console/overview?range=90d"
          "/console/overview?range=all" "/console/overview?range=7d&tenant=t7" "/console/overview?range=30d&tenant=t7")

# The rollup service starts 3 s after the server; it is caught up when every day with events
# is covered up to its last closed hour (today: up to the hour that closed 2 minutes ago).
psql "$BENCH_URL" -qc 'TRUNCATE audit_rollup_hours, audit_rollup_days, audit_rollup_entity_hours, audit_rollup_entity_days, audit_rollup_coverage' 2>/dev/null || true
T0=$(date +%s.%N)
start
for _ in $(seq 1 600); do
    behind="$(psql "$BENCH_URL" -Atc "SELECT count(*) FROM generate_series(date_bin('1 day', (SELECT min(received_at) FROM audit_events), timestamptz 'epoch'), now() - interval '2 minutes 1 hour', interval '1 day') AS d(day) WHERE NOT EXISTS (SELECT 1 FROM audit_rollup_coverage c WHERE c.day = d.day AND c.upto >= least(d.day + interval '1 day', date_bin('1 hour', now() - interval '2 minutes', timestamptz 'epoch')) - interval '1 hour')" 2>/dev/null || echo 1)"
    [ "$behind" = "0" ] && break
    sleep 0.5
done
echo "audit rows: $(psql "$BENCH_URL" -Atc 'SELECT count(*) FROM audit_events' 2>/dev/null || echo '?')"
CAUGHT_UP="$(echo "$(date +%s.%N) - $T0" | bc | cut -c1-5)"
ROLLUP_ROWS="$(psql "$BENCH_URL" -Atc "SELECT (SELECT count(*) FROM audit_rollup_hours) || ' hourly, ' || (SELECT count(*) FROM audit_rollup_days) || ' daily'" 2>/dev/null || echo '?')"
echo "rollups caught up after $CAUGHT_UP s (server start included); rollup rows: $ROLLUP_ROWS"
EVENT="$(curl -s -b "$JAR" "http://127.0.0.1:$PORT/console/audit?tenant=t7" | grep -o '/console/audit/event/[0-9a-f-]\{36\}' | awk 'NR==1')"
echo "== with rollups"
measure "${OVERVIEW[@]}" \
    "/console/audit" "/console/audit?tenant=t7" "/console/audit?decision=blocked" "/console/audit?tenant=t7&decision=blocked" \
    "/console/audit?entity=KR_RRN" "/console/audit?region=cn" "/console/audit?model=gpt-4o-mini" \
    "/console/audit?tenant=t7&from=$(date -u -d '-3 days' +%Y-%m-%d)&to=$(date -u -d '-2 days' +%Y-%m-%d)" \
    "$EVENT" "/console/verification" "/console/retention" "/console/policies" "/console/access" \
    "/console/audit/export?tenant=t7&from=$(date -u -d '-1 days' +%Y-%m-%dT%H:%M)&format=csv"
stop
echo "== AIRLOCK_CONSOLE_ROLLUPS=off (live aggregation of audit_events, as before the rollups)"
start AIRLOCK_CONSOLE_ROLLUPS=off
measure "${OVERVIEW[@]}"
