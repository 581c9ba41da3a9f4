#!/usr/bin/env bash
# Side by side: the same OpenAI-style calls sent straight to a mock upstream (nginx, fixed
# answers and SSE streams), through Airlock (scanning on, personal data pseudonymized and
# restored) and through LiteLLM proxy, in one run. Prints a table with Airlock's and LiteLLM's
# added latency (c=1, p50/p99), throughput at c=32, added time to first token and SSE
# inter-event gap, resident memory idle and under load, and the Airlock/LiteLLM ratios, plus a
# reference row for the hop alone (nginx as a keep-alive reverse proxy on the gateways' CPU);
# writes results.json and results.md to OUT.
#
#   bench/compare/run.sh
#
# Installs what it needs: nginx + echo module, wrk and gcc with apt-get, LiteLLM
# (`litellm[proxy]`, LITELLM_SPEC) into bench/.venv with pip; measures the release build of
# this tree (`swift build -c release --product airlock` first), or AIRLOCK_BIN.
# The gateway's CPU time per c=1 call is read from /proc around the c=1 phases too.
# Environment: REQUESTS (2000 c=1 rounds), STREAM_REQUESTS (300), WARMUP (200), SECONDS_LOAD
# (10 per throughput run), CONCURRENCY (32), AIRLOCK_COMMIT (label for AIRLOCK_BIN's build), GAP (0.002 s between the mock's SSE events),
# PIN (1: Airlock and LiteLLM each on CPU 1, nginx, PostgreSQL and the load drivers on CPU 0;
# 0: no pinning), OUT (bench/out/compare-<time>).
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"

REQUESTS=${REQUESTS:-2000}
STREAM_REQUESTS=${STREAM_REQUESTS:-300}
WARMUP=${WARMUP:-200}
SECONDS_LOAD=${SECONDS_LOAD:-10}
CONCURRENCY=${CONCURRENCY:-32}
GAP=${GAP:-0.002}
PIN=${PIN:-1}
LITELLM_SPEC=${LITELLM_SPEC:-litellm[proxy]}
OUT=${OUT:-$BENCH_ROOT/out/compare-$(date -u +%Y%m%dT%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then GW_CPUS=1 SIDE_CPUS=0; else GW_CPUS="" SIDE_CPUS=""; PIN=0; fi
side() { if [ -n "$SIDE_CPUS" ]; then taskset -c "$SIDE_CPUS" "$@"; else "$@"; fi; }

# --- tools -----------------------------------------------------------------------------
bench_install_tools
bench_airlock_binary
CLIENT=$BENCH_ROOT/compare/client
if [ ! -x "$CLIENT" ] || [ "$BENCH_ROOT/compare/client.c" -nt "$CLIENT" ]; then
    cc -O2 -Wall -o "$CLIENT" "$BENCH_ROOT/compare/client.c" || die "cannot compile the latency client"
fi
VENV=$BENCH_ROOT/.venv
if [ ! -x "$VENV/bin/litellm" ]; then
    say "installing $LITELLM_SPEC into $VENV"
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "$LITELLM_SPEC" || die "pip install $LITELLM_SPEC failed"
fi
LITELLM_VERSION=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))')

WORK=$(mktemp -d /tmp/airlock-compare-XXXXXX)
chmod 755 "$WORK"
trap 'bench_cleanup; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# --- the three servers -----------------------------------------------------------------
UPSTREAM_PORT=$(bench_free_port)
bench_start_nginx "$WORK" "$UPSTREAM_PORT" "$GAP" "$SIDE_CPUS"
AIRLOCK_PORT=$(bench_free_port)
bench_start_airlock "$WORK" "$BENCH_AIRLOCK" "$UPSTREAM_PORT" "$AIRLOCK_PORT" "$GW_CPUS" "$SIDE_CPUS"

# The hop alone: nginx as a keep-alive reverse proxy on the gateways' CPU (reference row).
PROXY_PORT=$(bench_free_port)
mkdir -p "$WORK/proxy"
sed -e "s#@PORT@#$PROXY_PORT#g; s#@DIR@#$WORK/proxy#g; s#@UPSTREAM@#$UPSTREAM_PORT#g" "$BENCH_ROOT/compare/nginx-proxy.conf.in" >"$WORK/proxy/nginx.conf"
bench_spawn "$GW_CPUS" "$WORK/proxy/nginx.out" nginx -p "$WORK/proxy" -c "$WORK/proxy/nginx.conf"
PROXY_PID=$SPAWNED
bench_wait_http "http://127.0.0.1:$PROXY_PORT/v1/models" 15 "$PROXY_PID" || die "the reference nginx proxy did not start: $(tail -3 "$WORK/proxy/nginx-error.log" 2>/dev/null)"

LITELLM_PORT=$(bench_free_port)
LITELLM_KEY=sk-bench-litellm-master-key
mkdir -p "$WORK/litellm"
sed "s/@UPSTREAM@/$UPSTREAM_PORT/g" "$BENCH_ROOT/compare/litellm.yaml.in" >"$WORK/litellm/config.yaml"
cd "$WORK/litellm"
bench_spawn "$GW_CPUS" "$WORK/litellm/litellm.log" env -u DATABASE_URL LITELLM_LOG=ERROR LITELLM_TELEMETRY=False \
    LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_MODE=PRODUCTION \
    "$VENV/bin/litellm" --config "$WORK/litellm/config.yaml" --host 127.0.0.1 --port "$LITELLM_PORT" \
    --num_workers 1 --keepalive_timeout 300
LITELLM_PID=$SPAWNED
cd - >/dev/null
bench_wait_http "http://127.0.0.1:$LITELLM_PORT/health/liveliness" 120 "$LITELLM_PID" \
    || die "LiteLLM did not start: $(tail -5 "$WORK/litellm/litellm.log")"
say "nginx :$UPSTREAM_PORT, airlock :$AIRLOCK_PORT (pid $AIRLOCK_PID), litellm $LITELLM_VERSION :$LITELLM_PORT (pid $LITELLM_PID); pinning: $([ "$PIN" = 1 ] && echo "gateways CPU $GW_CPUS, rest CPU $SIDE_CPUS" || echo none)"

# --- every path answers correctly --------------------------------------------------------
BODIES=$BENCH_ROOT/compare/bodies
D=127.0.0.1:$UPSTREAM_PORT
A=127.0.0.1:$AIRLOCK_PORT/v1/chat/completions
L=127.0.0.1:$LITELLM_PORT/v1/chat/completions
check() { # check NAME URL KEY BODY EXPECT
    local code
    code=$(curl -s -o "$WORK/check.txt" -D "$WORK/check.head" -w '%{http_code}' ${3:+-H "authorization: Bearer $3"} \
        -H 'content-type: application/json' --data-binary @"$BODIES/$4" "http://$2")
    [ "$code" = 200 ] && grep -qF -- "$5" "$WORK/check.txt" || die "$1 ($4) gave HTTP $code without '$5': $(head -c 300 "$WORK/check.txt")"
}
check direct "$D/pii/v1/chat/completions" "" pii.json '<EMAIL_ADDRESS_1>'
check airlock "$A" "$AIRLOCK_KEY" pii.json 'jane.doe@example.com'
grep -qi '^x-airlock-decision:.*pseudonymize' "$WORK/check.head" || die "Airlock did not pseudonymize the personal-data prompt"
check litellm "$L" "$LITELLM_KEY" pii.json '<EMAIL_ADDRESS_1>'
for who in airlock litellm; do
    if [ $who = airlock ]; then url=$A key=$AIRLOCK_KEY; else url=$L key=$LITELLM_KEY; fi
    check $who "$url" "$key" plain.json 'fixed answer'
    check $who "$url" "$key" stream.json '[DONE]'
done

# --- memory sampling -------------------------------------------------------------------
rss_mib() { awk -v k="$(bench_rss_kib "$1")" 'BEGIN { printf "%.1f", k / 1024 }'; }
pg_pid() { head -1 "$BENCH_DB_DIR/data/postmaster.pid"; }
sleep 2
echo "{\"airlock\": $(rss_mib "$AIRLOCK_PID"), \"airlock_postgres\": $(rss_mib "$(pg_pid)"), \"litellm\": $(rss_mib "$LITELLM_PID"), \"nginx\": $(rss_mib "$NGINX_PID")}" >"$OUT/rss-idle.json"
cpu_ticks() { # user + system clock ticks of a process and its descendants
    local total=0 p
    for p in $(bench_tree "$1"); do
        total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}
peak_sampler() { # peak_sampler PID FILE: highest RSS (MiB) until killed
    local peak=0 now
    while true; do
        now=$(bench_rss_kib "$1")
        [ "$now" -gt "$peak" ] && peak=$now && echo "$peak" >"$2"
        sleep 0.2
    done
}

# --- c=1 latency -------------------------------------------------------------------------
# Each gateway is measured alternating with direct calls, one gateway at a time: LiteLLM keeps
# working after it has answered (its success handlers), which would otherwise land on the next
# request of whichever gateway shares its core.
c1_cpu() { # c1_cpu PID TICKS_BEFORE CALLS: the process tree's CPU since TICKS_BEFORE, as JSON
    awk -v t=$(( $(cpu_ticks "$1") - $2 )) -v hz="$(getconf CLK_TCK)" -v n="$3" \
        'BEGIN { printf "{\"cpu_seconds\": %.2f, \"calls\": %d}\n", t / hz, n }'
}
# While one gateway is measured at c=1 the other is stopped (SIGSTOP): they share a CPU, and
# an idle LiteLLM still wakes ~66 times a second (measured) — neither would run beside the
# other in a deployment. FREEZE=0 leaves both running.
FREEZE=${FREEZE:-1}
freeze() { [ "$FREEZE" = 1 ] || return 0; for p in $(bench_tree "$2"); do kill -"$1" "$p"; done; }
run_c1() { # run_c1 NAME BODY DIRECT_PATH EXPECT_DIRECT EXPECT_AIRLOCK [--stream]
    local name=$1 body=$2 dpath=$3 ed=$4 ea=$5 mode=${6:-} n=$REQUESTS
    [ "$mode" = --stream ] && n=$STREAM_REQUESTS
    say "c=1 $name: $n rounds of direct / airlock, then direct / litellm"
    local ticks; ticks=$(cpu_ticks "$AIRLOCK_PID")
    freeze STOP "$LITELLM_PID"
    side "$CLIENT" $mode --requests "$n" --warmup "$WARMUP" --body "$BODIES/$body" \
        "direct=$D$dpath||$ed" "airlock=$A|$AIRLOCK_KEY|$ea" >"$OUT/c1-$name-airlock.json"
    c1_cpu "$AIRLOCK_PID" "$ticks" $((n + WARMUP)) >"$OUT/c1cpu-$name-airlock.json"
    freeze CONT "$LITELLM_PID"
    if [ "$FREEZE" = 1 ] && [ "$name" = plain ]; then  # the same with LiteLLM awake beside it, for comparison
        side "$CLIENT" --requests "$n" --warmup "$WARMUP" --body "$BODIES/$body" \
            "direct=$D$dpath||$ed" "airlock=$A|$AIRLOCK_KEY|$ea" >"$OUT/c1-$name-airlock-litellm-awake.json"
    fi
    freeze STOP "$AIRLOCK_PID"
    side "$CLIENT" $mode --requests "$n" --warmup "$WARMUP" --body "$BODIES/$body" \
        "direct=$D$dpath||$ed" "litellm=$L|$LITELLM_KEY|$ed" >"$OUT/c1-$name-litellm.json"
    freeze CONT "$AIRLOCK_PID"
}
run_c1 plain plain.json /v1/chat/completions 'fixed answer' 'fixed answer'
say "c=1 plain: $REQUESTS rounds of direct / reference nginx proxy"
proxy_ticks=$(cpu_ticks "$PROXY_PID")
side "$CLIENT" --requests "$REQUESTS" --warmup "$WARMUP" --body "$BODIES/plain.json" \
    "direct=$D/v1/chat/completions||fixed answer" "proxy=127.0.0.1:$PROXY_PORT/v1/chat/completions||fixed answer" >"$OUT/c1-plain-proxy.json"
c1_cpu "$PROXY_PID" "$proxy_ticks" $((REQUESTS + WARMUP)) >"$OUT/c1cpu-plain-proxy.json"
run_c1 pii pii.json /pii/v1/chat/completions '<EMAIL_ADDRESS_1>' 'jane.doe@example.com'
run_c1 stream stream.json /stream/v1/chat/completions '[DONE]' '[DONE]' --stream
run_c1 stream-pii stream-pii.json /stream/v1/chat/completions '[DONE]' '[DONE]' --stream

# --- throughput at c=CONCURRENCY -----------------------------------------------------------
run_load() { # run_load NAME TARGET_HOSTPORT PATH KEY BODY PID
    local name=$1 hp=$2 path=$3 key=$4 body=$5 pid=$6 sampler=""
    say "c=$CONCURRENCY $name: ${SECONDS_LOAD}s"
    # A short warm-up opens the connections (and, for LiteLLM, its upstream pool).
    BENCH_BODY=$BODIES/$body BENCH_PATH=$path BENCH_AUTH=$key side wrk -t1 -c"$CONCURRENCY" -d2s --timeout 30s \
        -s "$BENCH_ROOT/compare/post.lua" "http://$hp" >/dev/null 2>&1 || true
    local cpu0=0
    if [ -n "$pid" ]; then
        cpu0=$(cpu_ticks "$pid")
        echo 0 >"$OUT/peak-$name.txt"
        peak_sampler "$pid" "$OUT/peak-$name.txt" &
        sampler=$!
    fi
    BENCH_BODY=$BODIES/$body BENCH_PATH=$path BENCH_AUTH=$key side wrk -t1 -c"$CONCURRENCY" -d"${SECONDS_LOAD}s" --timeout 30s \
        -s "$BENCH_ROOT/compare/post.lua" "http://$hp" >"$OUT/load-$name.txt" 2>&1 || die "wrk failed for $name"
    if [ -n "$sampler" ]; then
        kill "$sampler"; wait "$sampler" 2>/dev/null || true
        echo "{\"cpu_seconds\": $(awk -v t=$(( $(cpu_ticks "$pid") - cpu0 )) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')}" >"$OUT/cpu-$name.json"
    fi
    grep '^{' "$OUT/load-$name.txt" >"$OUT/load-$name.json" || die "wrk printed no summary for $name"
    return 0
}
run_load direct-plain "$D" /v1/chat/completions "" plain.json ""
run_load airlock-plain "127.0.0.1:$AIRLOCK_PORT" /v1/chat/completions "$AIRLOCK_KEY" plain.json "$AIRLOCK_PID"
run_load litellm-plain "127.0.0.1:$LITELLM_PORT" /v1/chat/completions "$LITELLM_KEY" plain.json "$LITELLM_PID"
run_load direct-pii "$D" /pii/v1/chat/completions "" pii.json ""
run_load airlock-pii "127.0.0.1:$AIRLOCK_PORT" /v1/chat/completions "$AIRLOCK_KEY" pii.json "$AIRLOCK_PID"
run_load litellm-pii "127.0.0.1:$LITELLM_PORT" /v1/chat/completions "$LITELLM_KEY" pii.json "$LITELLM_PID"
sleep 2
echo "{\"airlock\": $(rss_mib "$AIRLOCK_PID"), \"airlock_postgres\": $(rss_mib "$(pg_pid)"), \"litellm\": $(rss_mib "$LITELLM_PID")}" >"$OUT/rss-after.json"
kill -0 "$AIRLOCK_PID" && kill -0 "$LITELLM_PID" || die "a gateway exited during the run"

# --- c=1 again with every process on one CPU --------------------------------------------------
# The split above pays this VM's cross-CPU wake-ups: an idle vCPU halts (guest halt polling is
# off) and waking it costs ~30 µs, four times per proxied call and never for a direct one. Here
# Airlock and the reference proxy join the client, nginx and PostgreSQL on CPU $SIDE_CPUS, so the
# added latency is the gateway's own work plus same-CPU switches. LiteLLM is not re-run.
if [ "$PIN" = 1 ]; then
    for p in $(bench_tree "$AIRLOCK_PID") $(bench_tree "$PROXY_PID"); do taskset -a -cp "$SIDE_CPUS" "$p" >/dev/null; done
    say "c=1 on one CPU: $REQUESTS rounds each of direct / airlock / reference proxy, clean and personal-data prompts"
    side "$CLIENT" --requests "$REQUESTS" --warmup "$WARMUP" --body "$BODIES/plain.json" \
        "direct=$D/v1/chat/completions||fixed answer" "airlock=$A|$AIRLOCK_KEY|fixed answer" \
        "proxy=127.0.0.1:$PROXY_PORT/v1/chat/completions||fixed answer" >"$OUT/c1same-plain.json"
    side "$CLIENT" --requests "$REQUESTS" --warmup "$WARMUP" --body "$BODIES/pii.json" \
        "direct=$D/pii/v1/chat/completions||<EMAIL_ADDRESS_1>" "airlock=$A|$AIRLOCK_KEY|jane.doe@example.com" >"$OUT/c1same-pii.json"
fi

# --- machine calibration --------------------------------------------------------------------
# This VM's speed moves between days (and runs): the scanner's time per 1 KB prompt and the
# detect-side stages of the personal-data call, on the gateways' CPU in the same run, say how
# fast the machine was and how much of the added latency is Airlock's own scanning work.
say "calibration: airlock scan bench (1 KB prompts, the personal-data call's detect-side stages)"
calibrate=("$BENCH_AIRLOCK" scan bench --skip-worst-cases --megabytes 2 --request "$BODIES/pii.json")
[ -n "$GW_CPUS" ] && calibrate=(taskset -c "$GW_CPUS" "${calibrate[@]}")
(cd "$BENCH_ROOT/.." && "${calibrate[@]}") >"$OUT/calibration.json" 2>/dev/null || say "calibration failed (continuing)"

# --- report --------------------------------------------------------------------------------
cat >"$OUT/setup.json" <<JSON
{"date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "airlock_commit": "$BENCH_AIRLOCK_LABEL",
 "airlock_binary": "$BENCH_AIRLOCK", "litellm_version": "$LITELLM_VERSION", "nginx": "$(nginx -v 2>&1 | sed 's/.*nginx\///')",
 "cpus": $(nproc), "pinned": $([ "$PIN" = 1 ] && echo true || echo false), "gateway_cpus": "$GW_CPUS", "side_cpus": "$SIDE_CPUS",
 "loadavg_end": "$(cut -d' ' -f1-3 /proc/loadavg)", "requests_c1": $REQUESTS, "stream_requests": $STREAM_REQUESTS,
 "warmup": $WARMUP, "seconds_load": $SECONDS_LOAD, "concurrency": $CONCURRENCY, "sse_gap_s": $GAP,
 "other_gateway_stopped_during_c1": $([ "$FREEZE" = 1 ] && echo true || echo false)}
JSON
python3 "$BENCH_ROOT/compare/report.py" "$OUT"
