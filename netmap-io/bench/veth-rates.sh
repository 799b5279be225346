#!/usr/bin/env bash
# Rates of the device methods on veth pairs in a namespace of our own
# (docs/PERFORMANCE.md, "Devices"). Run as root from the workspace root
# after `cargo build --release`. Each figure is the median of RUNS runs of
# SECS seconds, read from an AverageCounter (packets per second).
# Everything here is sender-bound: one core runs the generator.
set -euo pipefail
R=${ROUTER:-target/release/router}
RUNS=${1:-3}
SECS=${SECS:-2}
NS=nmio-bench-$$
trap 'ip netns del $NS 2>/dev/null || true' EXIT
ip netns add $NS
X="ip netns exec $NS"
$X sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6'
for p in "a0 a1" "b0 b1"; do
    set -- $p
    $X ip link add $1 type veth peer name $2
    for d in $1 $2; do
        $X ethtool -K $d tso off gso off gro off tx off rx off >/dev/null
        $X ip link set $d up
    done
done
FRAME='\<ffffffffffff 020000000001 88b5 00000000 00000000000000000000000000000000000000000000000000000000000000000000>'
GEN="InfiniteSource(DATA $FRAME, LIMIT -1, BURST 32) -> Queue(4096) -> ToDevice(a0, METHOD LINUX);"

set +e +o pipefail
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# rate NAME CONFIG [GENERATOR]: runs CONFIG for SECS s (with GENERATOR
# beside it, if given) and prints ac.rate in Mpps.
rate() {
    local name=$1 conf=$2 gen=${3:-}
    for _ in $(seq "$RUNS"); do
        local gpid=
        if [ -n "$gen" ]; then
            $X "$R" -e "$gen" & gpid=$!
            sleep 0.3
        fi
        $X "$R" -e "$conf DriverManager(wait ${SECS}s, stop);" -h ac.rate 2>/dev/null | grep -v ":$" | grep . | head -1
        [ -n "$gpid" ] && { kill -INT $gpid; wait $gpid 2>/dev/null || true; }
    done | median | awk -v n="$name" '{printf "%-44s %6.3f Mpps\n", n, $1/1e6}'
}

for m in LINUX XDP; do
    rate "receive  FromDevice(METHOD $m)" "FromDevice(a1, METHOD $m) -> ac :: AverageCounter -> Discard;" "$GEN"
done
rate "transmit ToDevice(METHOD LINUX) sendmmsg" "InfiniteSource(DATA $FRAME, LIMIT -1, BURST 32) -> Queue(4096) -> ac :: AverageCounter -> ToDevice(a0, METHOD LINUX, TX_RING false);"
rate "transmit ToDevice(METHOD LINUX) TX_RING" "InfiniteSource(DATA $FRAME, LIMIT -1, BURST 32) -> Queue(4096) -> ac :: AverageCounter -> ToDevice(a0, METHOD LINUX, TX_RING true);"
rate "transmit ToDevice(METHOD XDP)" "InfiniteSource(DATA $FRAME, LIMIT -1, BURST 32) -> Queue(4096) -> ac :: AverageCounter -> ToDevice(a0, METHOD XDP);"
for m in LINUX XDP; do
    rate "forward  a1 -> b1, METHOD $m" "FromDevice(a1, METHOD $m) -> Queue(4096) -> ac :: AverageCounter -> ToDevice(b1, METHOD $m);" "$GEN"
done
rate "hairpin  a1 -> a1, METHOD XDP (zero copy)" "FromDevice(a1, METHOD XDP) -> Queue(4096) -> ac :: AverageCounter -> ToDevice(a1, METHOD XDP);" "$GEN"
