#!/usr/bin/env bash
# Instructions per packet of each forwarding and ICMP element (callgrind,
# exact and repeatable on a shared machine), as recorded in
# docs/PERFORMANCE.md ("Forwarding and ICMP elements"):
#   configs/bench/fwd-elements.sh [N]       (from the repository root)
# Each element is measured in the same path: clones of one 64-byte
# Ethernet/IPv4/UDP frame (d-iproute's) -> Strip(14) -> CheckIPHeader ->
# ELEMENT -> Counter -> Discard; its cost is that path's instructions per
# packet (a run of N packets minus a run of 1, over N) less the path's
# without it. Elements that write the packet pay for unsharing InfiniteSource's
# clone (a copy), as DecIPTTL does in d-iproute. A run fails unless at least
# N packets reach the Counter, so an element that dropped them all would not
# pass for a cheap one. An entry is ELEMENTS|DATA|MORE: DATA replaces the
# frame (ICMPPingResponder answers echo requests only), MORE is statements
# added to the configuration (elements named in ELEMENTS with outputs of
# their own, connected to Discard).
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-1000000}
bin=${CARGO_TARGET_DIR:-target}/release/router
cargo build --release -q --bin router
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
udp='00112233445566778899aabb08004500003200000000401164b70a0000010a01020304d2162e001e000000000000000000000000000000000000000000000000'
instr() {  # CONFIG-FILE N: instructions of the run
    local count
    count=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --log-file="$dir/vg" \
        "$bin" -h c.count "$1" N="$2")
    if [ "$count" -lt "$2" ]; then
        echo "$1: $count packets of $2 reached the Counter" >&2
        cat "$1" >&2
        exit 1
    fi
    sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$dir/vg"
}
per_packet() {  # CHAIN [DATA [MORE]]: instructions per packet of the path with CHAIN
    local f="$dir/c.click" data=${2:-$udp}
    cat >"$f" <<CONF
define(\$N 1);
InfiniteSource(DATA \\<$data>, LIMIT \$N, BURST 32, STOP true)
  -> Strip(14) -> CheckIPHeader $1 -> c :: Counter -> Discard;
${3:-}
CONF
    local a b
    a=$(instr "$f" "$n"); b=$(instr "$f" 1)
    echo "scale=1; ($a - $b) / $n" | bc
}
base=$(per_packet "")
printf '%-48s %8s %8s\n' "element" "path" "element"
printf '%-48s %8s %8s\n' "(none: Strip, CheckIPHeader, Counter, Discard)" "$base" "-"
while IFS='|' read -r chain data more; do
    [ -z "$chain" ] && continue
    p=$(per_packet "$chain" "$data" "$more")
    printf '%-48s %8s %8s\n' "${chain#-> }" "$p" "$(echo "scale=1; $p - $base" | bc)"
done <<'LIST'
-> DecIPTTL|
-> IPGWOptions(10.0.0.9)|
-> FixIPSrc(10.0.0.9)|
-> DropBroadcasts|
-> IPFragmenter(1500)|
-> IPFragmenter(40)|
-> IPReassembler|
-> IPFragmenter(40) -> IPReassembler|
-> SetIPChecksum|
-> SetUDPChecksum|
-> SetIPDSCP(10)|
-> MarkIPCE(true)|
-> StoreIPAddress(10.1.1.1, src)|
-> IPEncap(4, 1.1.1.1, 2.2.2.2)|
-> UDPIPEncap(1.1.1.1, 1, 2.2.2.2, 2)|
-> ICMPPingEncap(1.1.1.1, 2.2.2.2)|
-> ICMPError(10.0.0.1, unreachable, port)|
-> ICMPPingResponder|00112233445566778899aabb08004500002a00000000400164cf0a0000010a0102030800e5ca123400010000000000000000000000000000
-> Paint(1) -> oc :: IPOutputCombo(2, 10.0.0.9, 1500)||oc[1] -> Discard; oc[2] -> Discard; oc[3] -> Discard; oc[4] -> Discard;
LIST
