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
best() { # best wall time of a command over $runs runs
    local b=999
    for _ in $(seq "$runs"); do
        local t; t=$( { /usr/bin/time -f %e "$@" >/dev/null; } 2>&1 | tail -1)
        b=$(echo "if ($t < $b) $t else $b" | bc)
    done
    echo "$b"
}
one=$(best taskset -c 1 "$bin" -h c.count configs/bench/one-thread-two-stage.click N=20000000)
two=$(best "$bin" -j 2 -h c.count configs/bench/two-threads.click N=20000000)
echo "one thread: ${one}s   two threads: ${two}s   speed-up: $(echo "scale=2; $one / $two" | bc)x"
