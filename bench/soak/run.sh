#!/usr/bin/env bash
# Long run with a leak check: Airlock (release build) at a steady ~200 requests/s of mixed
# traffic (clean, personal data pseudonymized and restored, SSE streams) against the nginx
# mock, for MINUTES minutes; samples the gateway's RSS, open file descriptors and threads
# every 10 s and fails unless RSS and descriptors are flat over the last WINDOW minutes.
#
#   bench/soak/run.sh                       # 30 minutes, verdict over the last 20
#   MINUTES=5 WINDOW=3 bench/soak/run.sh    # a quick check
#
# Environment: AIRLOCK_BIN (default: the release build of this tree, built first), MINUTES (30),
# WINDOW (20), CONNECTIONS (8), DELAY_MS (28; per-connection pause, sets the rate),
# SAMPLE_SECONDS (10), OUT (bench/out/soak-<time>). Exit status 0 = pass, 1 = leak or errors.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"

MINUTES=${MINUTES:-30}
WINDOW=${WINDOW:-20}
CONNECTIONS=${CONNECTIONS:-8}
DELAY_MS=${DELAY_MS:-28}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-10}
OUT=${OUT:-$BENCH_ROOT/out/soak-$(date -u +%Y%m%dT%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

bench_install_tools
bench_airlock_binary
WORK=$(mktemp -d /tmp/airlock-soak-XXXXXX)
chmod 755 "$WORK"
trap 'bench_cleanup; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

UPSTREAM_PORT=$(bench_free_port)
GATEWAY_PORT=$(bench_free_port)
bench_start_nginx "$WORK" "$UPSTREAM_PORT" 0.002 ""
bench_start_airlock "$WORK" "$BENCH_AIRLOCK" "$UPSTREAM_PORT" "$GATEWAY_PORT" "" ""
say "airlock pid $AIRLOCK_PID on :$GATEWAY_PORT, nginx mock on :$UPSTREAM_PORT; ${MINUTES} min, $CONNECTIONS connections, ${DELAY_MS} ms pause; output in $OUT"

# Each kind of request must work before the long run means anything.
BODIES=$BENCH_ROOT/compare/bodies
for b in plain pii stream; do
    code=$(curl -s -o "$OUT/check-$b.txt" -w '%{http_code}' -H "authorization: Bearer $AIRLOCK_KEY" \
        -H 'content-type: application/json' --data-binary @"$BODIES/$b.json" "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions")
    [ "$code" = 200 ] || die "the $b request through Airlock got HTTP $code: $(head -c 300 "$OUT/check-$b.txt")"
done
grep -q 'jane.doe@example.com' "$OUT/check-pii.txt" || die "the personal-data answer was not restored"
grep -q '\[DONE\]' "$OUT/check-stream.txt" || die "the stream did not end with [DONE]"
rm -f "$OUT"/check-*.txt

echo "elapsed_s,rss_kib,fds,threads,cpu_s" >"$OUT/samples.csv"
sample() { # sample ELAPSED [FILE]
    local stat ticks
    stat=$(cut -d' ' -f14,15 "/proc/$AIRLOCK_PID/stat")
    ticks=$(( ${stat% *} + ${stat#* } ))
    echo "$1,$(bench_rss_kib "$AIRLOCK_PID"),$(bench_fds "$AIRLOCK_PID"),$(awk '/^Threads:/ {print $2}' "/proc/$AIRLOCK_PID/status"),$((ticks / $(getconf CLK_TCK)))" >>"${2:-$OUT/samples.csv}"
}

BENCH_KEY=$AIRLOCK_KEY BENCH_BODIES=$BODIES BENCH_DELAY_MS=$DELAY_MS \
    wrk -t1 -c"$CONNECTIONS" -d"$((MINUTES * 60))s" --timeout 30s -s "$BENCH_ROOT/soak/mix.lua" \
    "http://127.0.0.1:$GATEWAY_PORT" >"$OUT/wrk.txt" 2>&1 &
WRK_PID=$!
BENCH_PIDS+=("$WRK_PID")
START=$SECONDS
sample 0
while kill -0 "$WRK_PID" 2>/dev/null; do
    sleep "$SAMPLE_SECONDS"
    kill -0 "$AIRLOCK_PID" 2>/dev/null || die "airlock exited during the soak: $(tail -3 "$WORK/airlock.log")"
    # Only samples taken under load count (wrk's connections closing would look like a drop).
    kill -0 "$WRK_PID" 2>/dev/null || break
    sample $((SECONDS - START))
done
wait "$WRK_PID" || die "wrk failed: $(tail -3 "$OUT/wrk.txt")"
grep '^{' "$OUT/wrk.txt" >"$OUT/wrk.json" || die "wrk printed no summary: $(tail -3 "$OUT/wrk.txt")"
# After the load stops (reported, not judged: the closed connections drop descriptors).
sleep 15
echo "elapsed_s,rss_kib,fds,threads,cpu_s" >"$OUT/idle-after.csv"
sample $((SECONDS - START)) "$OUT/idle-after.csv"
cp "$WORK/airlock.log" "$OUT/airlock.log"

python3 "$BENCH_ROOT/soak/analyze.py" "$OUT/samples.csv" "$OUT/wrk.json" "$WINDOW" "$OUT/idle-after.csv" >"$OUT/result.json"
cat "$OUT/result.json"
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$OUT/result.json")" = pass ]
