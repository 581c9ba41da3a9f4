#!/usr/bin/env bash
# Builds the libFuzzer harnesses and runs each for SECONDS (default 60) on its own corpus.
#   [MAX_LEN=N] Fuzz/run.sh [SECONDS] [harness ...]     harnesses: json scanner sse policy gguf
# Corpora grow in Fuzz/corpus/<harness> (not committed; seeded from Fuzz/seeds/<harness>);
# a crash leaves Fuzz/artifacts/<harness>/crash-* and makes the script exit non-zero. Turn a
# crasher into a regression test under Tests/*/Fuzz*RegressionTests.swift.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${1:-60}"
shift || true
HARNESSES=("${@:-json scanner sse policy gguf}")
read -r -a HARNESSES <<< "${HARNESSES[*]}"

swift build >&2
python3 seeds/make_gguf.py seeds/gguf
status=0
for h in "${HARNESSES[@]}"; do
    mkdir -p "corpus/$h" "artifacts/$h"
    echo "==> fuzz-$h for ${SECONDS_EACH}s" >&2
    # -rss_limit_mb: a harness that allocates without bound is a finding too.
    if ! ".build/debug/fuzz-$h" "corpus/$h" "seeds/$h" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
        -max_len="${MAX_LEN:-65536}" -timeout=10 -artifact_prefix="artifacts/$h/" -print_final_stats=1 2> "artifacts/$h/last-run.log"; then
        echo "fuzz-$h found a problem: see Fuzz/artifacts/$h/" >&2
        status=1
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|^Done|ERROR|SUMMARY" "artifacts/$h/last-run.log" >&2 || true
done
exit $status
