#!/usr/bin/env bash
# Runs the classification benchmarks recorded in docs/PERFORMANCE.md
# ("Classification"): b-classify and IPFilter with 1, 10, 100 and 1,000
# rules, each beside FastClick without threads in the same mpps.py run,
# and the router's instructions per packet by callgrind.
#   configs/bench/run-classify.sh [RUNS]      (from the repository root)
# Needs ../shared/bench/mpps.py and /tmp/baselines/fastclick-nothreads.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
harness=../shared/bench/mpps.py
fc=${FASTCLICK:-/tmp/baselines/fastclick-nothreads}
cargo build --release -q --bin router
bin=${CARGO_TARGET_DIR:-target}/release/router

echo "== machine"
echo "$(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"

# instructions per packet: a run of N minus a run of 1, over N
ipp() {
    local cfg=$1 n=$2 per=$3 big small
    big=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" -h c.count "$cfg" N="$n" 2>&1 | sed -n 's/.*refs: *//p' | tr -d ,)
    small=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" -h c.count "$cfg" N=1 2>&1 | sed -n 's/.*refs: *//p' | tr -d ,)
    echo "scale=1; ($big - $small) / ($n * $per)" | bc
}

echo "== b-classify (mpps.py --runs $runs: NAME cpu-Mpps wall-median wall-min wall-max)"
python3 "$harness" --runs "$runs" ../shared/bench/b-classify.click "$bin" "$fc" | sed -n 1,2p
echo "instructions/packet: $(ipp ../shared/bench/b-classify.click 300000 1)"

echo "== IPFilter, eight kinds of packets (8 N packets a run)"
for n in 1 10 100 1000; do
    cfg=configs/bench/ipfilter-$n.click
    start=$( { /usr/bin/time -f %e "$bin" -h c.count "$cfg" N=1 >/dev/null; } 2>&1 | tail -1)
    printf '%5s rules: start-up %ss; ' "$n" "$start"
    python3 "$harness" --runs "$runs" --n 2000000 "$cfg" "$bin" "$fc" | sed -n 1,2p | tr '\n' ';'
    echo " instructions/packet: $(ipp "$cfg" 40000 8)"
done
