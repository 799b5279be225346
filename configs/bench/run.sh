#!/usr/bin/env bash
# Runs the benchmarks recorded in docs/PERFORMANCE.md, in one go, so that
# the router's figures and the baseline they are compared with come from
# the same run on the same machine.
#   configs/bench/run.sh [RUNS]      (from the repository root)
# Needs ../shared/bench/mpps.py (the harness) and two idle cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
harness=../shared/bench/mpps.py
cargo build --release -q --bin router
cargo build --release -q -p click-engine --bench packet
bin=${CARGO_TARGET_DIR:-target}/release/router

echo "== machine"
echo "$(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== baseline: the packet layer alone (clone, count, free in a loop; no router)"
cargo bench -q -p click-engine --bench packet 2>/dev/null | grep -i -E "source|clone_into|clone \+ drop" || true

echo "== one core (taskset -c 1), N=50M, Mpps by CPU time and by wall time (median, min, max)"
for c in ../shared/bench/a-counter.click ../shared/bench/c-queue.click configs/bench/counters-5.click configs/bench/paint-4.click; do
    printf '%-22s ' "$(basename "$c")"
    out=$(python3 "$harness" --runs "$runs" --n 50000000 "$c" "$bin"); echo "${out%%$'\n'*}"
done

echo "== two stages: one thread vs two threads (wall seconds for 20M packets, best of $runs)"
# Two-thread figures depend on how far apart the host put the two vCPUs:
# each run is preceded by a core-to-core round trip, and only runs with
# the cores close (a round trip under 150 ns) count.
round_trip() {
    cargo bench -q -p click-engine --bench core_latency 2>/dev/null | grep -o '[0-9]* ns' | cut -d' ' -f1
}
wall() { { /usr/bin/time -f %e "$@" >/dev/null; } 2>&1 | tail -1; }
# best_of ONE_CONFIG TWO_CONFIG N: best wall times over the runs, one
# thread (taskset -c 1) and two threads (-j 2), near-placement runs only.
best_of() {
    local one=999 two=999 far=0 t rt
    for _ in $(seq "$runs"); do
        rt=$(round_trip)
        if [ "$rt" -ge 150 ]; then far=$((far + 1)); continue; fi
        t=$(wall taskset -c 1 "$bin" -h c.count "$1" N="$3")
        one=$(echo "if ($t < $one) $t else $one" | bc)
        t=$(wall "$bin" -j 2 -h c.count "$2" N="$3")
        two=$(echo "if ($t < $two) $t else $two" | bc)
    done
    echo "runs skipped with the cores far apart: $far"
    if [ "$one" != 999 ]; then
        echo "one thread: ${one}s   two threads: ${two}s   speed-up: $(echo "scale=2; $one / $two" | bc)x"
    fi
}
best_of configs/bench/one-thread-two-stage.click configs/bench/two-threads.click 20000000
echo "core round trip now: $(round_trip) ns"

echo "== two stages with per-packet work (a Script in each): one thread vs two threads (2M packets, best of $runs)"
best_of configs/bench/one-thread-work.click configs/bench/two-threads-work.click 2000000
