# Shared by bench/compare/run.sh and bench/soak/run.sh (sourced, not run): installing the
# tools, the nginx mock upstream, Airlock with its own PostgreSQL, and process sampling.
# Every process started here is recorded in BENCH_PIDS and stopped by bench_cleanup.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO=$(cd "$BENCH_ROOT/.." && pwd)
BENCH_PIDS=()
BENCH_DB_DIR=""

say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# nginx with the echo module (the mock upstream) and wrk (the throughput driver), from Debian.
bench_install_tools() {
    if command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] \
        && command -v wrk >/dev/null && command -v cc >/dev/null; then return; fi
    command -v apt-get >/dev/null || die "nginx, libnginx-mod-http-echo, wrk and a C compiler are needed (apt-get not found)"
    say "installing nginx, libnginx-mod-http-echo, wrk and gcc with apt-get"
    # apt's key check writes into $TMPDIR as the _apt user; use /var/tmp if /tmp is not world-writable.
    local tmp=/tmp
    [ -w /tmp ] && [ -k /tmp ] || tmp=/var/tmp
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    TMPDIR=$tmp $sudo apt-get update -qq >/dev/null
    TMPDIR=$tmp DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        nginx libnginx-mod-http-echo wrk gcc libc6-dev >/dev/null
}

# The airlock binary to measure: $AIRLOCK_BIN as given, else the release build of this tree
# (`swift build` is a no-op when it is up to date, so the binary always matches the sources).
# Sets BENCH_AIRLOCK and BENCH_AIRLOCK_LABEL (the commit, or $AIRLOCK_COMMIT for a given binary).
bench_airlock_binary() {
    if [ -n "${AIRLOCK_BIN:-}" ]; then
        [ -x "$AIRLOCK_BIN" ] || die "AIRLOCK_BIN=$AIRLOCK_BIN is not executable"
        BENCH_AIRLOCK=$AIRLOCK_BIN
        BENCH_AIRLOCK_LABEL=${AIRLOCK_COMMIT:-"$AIRLOCK_BIN"}
        return
    fi
    say "building airlock (swift build -c release --product airlock)"
    (cd "$REPO" && swift build -c release --product airlock >&2) || die "release build failed"
    BENCH_AIRLOCK=$REPO/.build/release/airlock
    BENCH_AIRLOCK_LABEL=$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [ -n "$(cd "$REPO" && git status --porcelain -- Sources Package.swift 2>/dev/null)" ]; then
        BENCH_AIRLOCK_LABEL="$BENCH_AIRLOCK_LABEL+uncommitted"
    fi
}

bench_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Runs a command in the background pinned to CPUS (a taskset list, or "" for no pinning),
# output to LOG; sets SPAWNED to its pid and remembers it for cleanup.
bench_spawn() { # bench_spawn CPUS LOG COMMAND...
    local cpus=$1 log=$2; shift 2
    if [ -n "$cpus" ]; then taskset -c "$cpus" "$@" >"$log" 2>&1 </dev/null &
    else "$@" >"$log" 2>&1 </dev/null &
    fi
    SPAWNED=$!
    BENCH_PIDS+=("$SPAWNED")
}

bench_wait_http() { # bench_wait_http URL SECONDS PID [AUTH]
    local url=$1 seconds=$2 pid=$3 auth=${4:-}
    local deadline=$((SECONDS + seconds))
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$pid" 2>/dev/null || return 1
        if [ -n "$auth" ]; then curl -sf -o /dev/null -H "authorization: Bearer $auth" "$url" && return 0
        else curl -sf -o /dev/null "$url" && return 0; fi
        sleep 0.2
    done
    return 1
}

# The nginx mock upstream on PORT, SSE events GAP seconds apart. Sets NGINX_PID.
bench_start_nginx() { # bench_start_nginx WORKDIR PORT GAP CPUS
    local dir=$1/nginx port=$2 gap=$3 cpus=$4
    mkdir -p "$dir"
    sed -e "s#@PORT@#$port#g; s#@DIR@#$dir#g; s#@GAP@#$gap#g" "$BENCH_ROOT/mock/nginx.conf.in" >"$dir/nginx.conf"
    bench_spawn "$cpus" "$dir/nginx.out" nginx -p "$dir" -c "$dir/nginx.conf"
    NGINX_PID=$SPAWNED
    bench_wait_http "http://127.0.0.1:$port/v1/models" 15 "$NGINX_PID" \
        || die "nginx did not start: $(tail -3 "$dir/nginx.out" "$dir/nginx-error.log" 2>/dev/null)"
}

# Airlock serving three models on the mock (plain, personal-data answer, stream), with its own
# managed PostgreSQL, a tenant and a key, and the default policy minus rate limits.
# Sets AIRLOCK_PID, AIRLOCK_KEY, PG_URL.
bench_start_airlock() { # bench_start_airlock WORKDIR AIRLOCK UPSTREAM_PORT PORT CPUS PG_CPUS
    local work=$1 airlock=$2 upstream=$3 port=$4 cpus=$5 pg_cpus=$6
    BENCH_DB_DIR=$work/pg
    mkdir -p "$BENCH_DB_DIR" && chmod 755 "$work" "$BENCH_DB_DIR"
    # The managed server runs as the postgres user when we are root: its parents must be searchable.
    local env=(env -u AIRLOCK_DATABASE_URL -u AIRLOCK_CONFIG AIRLOCK_MIGRATIONS_DIR="$REPO/Migrations")
    if [ -n "$pg_cpus" ]; then PG_URL=$("${env[@]}" taskset -c "$pg_cpus" "$airlock" db start --data-dir "$BENCH_DB_DIR" | tail -1)
    else PG_URL=$("${env[@]}" "$airlock" db start --data-dir "$BENCH_DB_DIR" | tail -1); fi
    [ -n "$PG_URL" ] || die "airlock db start printed no URL"
    local tenant="bench-$RANDOM$RANDOM"
    "${env[@]}" AIRLOCK_DATABASE_URL="$PG_URL" "$airlock" migrate >/dev/null 2>"$work/migrate.log" || die "airlock migrate failed: $(tail -2 "$work/migrate.log")"
    "${env[@]}" AIRLOCK_DATABASE_URL="$PG_URL" "$airlock" tenant create "$tenant" --name "$tenant" >/dev/null
    AIRLOCK_KEY=$("${env[@]}" AIRLOCK_DATABASE_URL="$PG_URL" "$airlock" key create --tenant "$tenant" --name bench 2>/dev/null | tail -1)
    [[ $AIRLOCK_KEY == ak_* ]] || die "airlock key create printed no key"
    cat >"$work/airlock.yaml" <<YAML
listen: { host: 127.0.0.1, port: $port }
database: { url: "$PG_URL" }
log_level: warning
default_policy: $BENCH_ROOT/compare/policy.yaml
audit: { spool_dir: $work/spool }
local: { enabled: false }
providers:
  - { name: mock, kind: openai-compatible, base_url: "http://127.0.0.1:$upstream/v1", region: us-east, api_key_env: BENCH_PROVIDER_KEY, models: [bench-chat] }
  - { name: mock-pii, kind: openai-compatible, base_url: "http://127.0.0.1:$upstream/pii/v1", region: us-east, api_key_env: BENCH_PROVIDER_KEY, models: [bench-pii] }
  - { name: mock-stream, kind: openai-compatible, base_url: "http://127.0.0.1:$upstream/stream/v1", region: us-east, api_key_env: BENCH_PROVIDER_KEY, models: [bench-stream] }
YAML
    cd "$work" || die "cannot enter $work"
    bench_spawn "$cpus" "$work/airlock.log" env $(env | grep -o '^AIRLOCK_[A-Z_]*' | sed 's/^/-u /') \
        AIRLOCK_MIGRATIONS_DIR="$REPO/Migrations" AIRLOCK_POLICIES_DIR="$REPO/Policies" \
        AIRLOCK_FINGERPRINT_KEY=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \
        BENCH_PROVIDER_KEY=sk-bench-provider-key "$airlock" serve --config "$work/airlock.yaml"
    AIRLOCK_PID=$SPAWNED
    cd - >/dev/null || true
    bench_wait_http "http://127.0.0.1:$port/readyz" 90 "$AIRLOCK_PID" || die "airlock did not become ready: $(tail -5 "$work/airlock.log")"
}

# VmRSS in KiB of a process and all its descendants.
bench_rss_kib() { # bench_rss_kib PID
    local total=0 p
    for p in $(bench_tree "$1"); do
        total=$((total + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

bench_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

bench_tree() { # the pid and its descendants
    local p=$1 c
    echo "$p"
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do bench_tree "$c"; done
}

bench_cleanup() {
    set +e  # runs from an EXIT trap: a process that is already gone must not stop the cleanup
    local pid
    for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
        pid=${BENCH_PIDS[$i]}
        kill -0 "$pid" 2>/dev/null || continue
        # Descendants first (LiteLLM's workers), then the process; SIGKILL whatever lingers.
        local tree; tree=$(bench_tree "$pid")
        kill -TERM $tree 2>/dev/null
        kill -CONT $tree 2>/dev/null  # one stopped for a measurement (compare/run.sh) acts on it now
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL $tree 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    BENCH_PIDS=()
    if [ -n "$BENCH_DB_DIR" ] && [ -n "${BENCH_AIRLOCK:-}" ]; then
        env -u AIRLOCK_DATABASE_URL "$BENCH_AIRLOCK" db stop --data-dir "$BENCH_DB_DIR" >/dev/null 2>&1
        BENCH_DB_DIR=""
    fi
}
