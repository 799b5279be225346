#!/bin/sh
# Runs inside the netmap test guest (busybox sh), from /prog, with
# ./router, ./netmap_guest and ./*.click beside it; netmap.ko and veth.ko
# are loaded. See run.sh beside this file. Every check fails the run with
# a line starting "FAIL:"; rates are printed as "RATE name pps".
#   netmap-guest.sh [N] [SECONDS]   frames per check run, seconds per rate run
N=${1:-20000}
D=${2:-4}
cd /prog || exit 2
PATH=/prog:/opt/iproute2:$PATH
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
hval() { sed -n "/^$1:\$/{n;p;}" "$2" | head -1; }
need() { [ "$(hval "$1" "$3")" = "$2" ] || fail "$4: $1 is '$(hval "$1" "$3")', not '$2'"; }

echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null
# iproute2's ip by its full path: busybox's runs first otherwise, and
# ignores the peer's name.
/opt/iproute2/ip link add v0 type veth peer name v1 || fail "veth v0/v1"
/opt/iproute2/ip link add v2 type veth peer name v3 || fail "veth v2/v3"
for d in v0 v1 v2 v3; do ip link set "$d" up; done

# --- The library: sender -> forwarder (NetmapRx -> NetmapTx) -> receiver.
echo "=== library, pipes: every frame in its sender's buffer, every TX slot a swap"
./netmap_guest forward 'netmap:x}1' 'netmap:x{2' "$N" --swap --same-buffer --name check-lib-pipes \
  || fail "library forwarding over pipes"
echo "=== library, VALE: vale0:s -> vale0:r1@1 -> (swap) -> vale1:r2@1 -> vale1:d"
./netmap_guest forward 'vale0:r1@1' 'vale1:r2@1' "$N" --swap --from vale0:s --to vale1:d --name check-lib-vale \
  || fail "library forwarding over VALE"
echo "=== library, veth (emulated mode): v0 -> v1 -> (swap) -> v2 -> v3"
./netmap_guest forward netmap:v1 netmap:v2 "$N" --swap --from netmap:v0 --to netmap:v3 --name check-lib-veth \
  || fail "library forwarding over veth"
dmesg | grep -iE 'generic|emulated' | tail -2
vethstats() {
  for d in v0 v1 v2 v3; do
    /opt/iproute2/ip -s link show "$d" | awk -v d=$d '/RX:/ { getline; rx = $2 " rx, " $4 " rx dropped" } /TX:/ { getline; tx = $2 " tx, " $4 " tx dropped" } END { print "  " d ": " rx ", " tx }'
  done
  awk '{ printf "  softnet cpu%d: processed 0x%s dropped 0x%s\n", NR - 1, $1, $2 }' /proc/net/softnet_stat
}
vethstats

# --- The router's own configurations, FromDevice/PollDevice -> ToDevice.
# route NAME CONFIG FROM TO RECV-OPTS HANDLERS...: runs the router, then
# a sender on FROM and a checking receiver on TO (one process, the sender
# at most 256 frames ahead, so no ring overflows); the router's handlers
# end up in /tmp/NAME.h.
route() {
  name=$1 conf=$2 from=$3 to=$4 ropts=$5; shift 5
  hs=""; for h in "$@"; do hs="$hs -h $h"; done
  # Pinned (netmap_guest's sender is on CPU 0): a veth in emulated mode
  # delivers frames through the sending CPU's backlog, so a transmitter
  # that moves between CPUs reorders them.
  ./router -v --affinity=1 $hs "$conf" > "/tmp/$name.h" 2> "/tmp/$name.log" & rpid=$!
  sleep 1
  if ! kill -0 $rpid 2>/dev/null; then
    cat "/tmp/$name.log"; fail "$name: the router did not start"; return
  fi
  ./netmap_guest pair "$from" "$to" "$N" $ropts --name "check-$name" || fail "$name: sender or receiver"
  kill -INT $rpid; wait $rpid || fail "$name: the router exited with $?"
  grep -E 'METHOD|error|ERROR' "/tmp/$name.log" | head -4
  show "/tmp/$name.h"
}
show() { awk 'NF { if (k) { print "  " k " " $0; k = "" } else k = $0 }' "$1"; }

echo "=== router, pipes: FromDevice(netmap:a}1) -> Queue -> ToDevice(\"netmap:a{2\")"
route router-pipes pipes.click 'netmap:a{1' 'netmap:a}2' --same-buffer \
  fd.count fd.zero_copy fd.copies td.count td.zero_copy td.copies td.drops q.drops fd.method
need td.zero_copy "$N" /tmp/router-pipes.h router-pipes
need td.copies 0 /tmp/router-pipes.h router-pipes
need fd.copies 0 /tmp/router-pipes.h router-pipes
need fd.method NETMAP /tmp/router-pipes.h router-pipes

echo "=== router, VALE: vale2:s -> FromDevice(vale2:r1@1) -> ToDevice(vale3:r2@1) -> vale3:d"
route router-vale vale.click vale2:s vale3:d "" \
  fd.count fd.zero_copy td.count td.zero_copy td.copies td.drops q.drops
need td.zero_copy "$N" /tmp/router-vale.h router-vale
need td.copies 0 /tmp/router-vale.h router-vale

echo "=== router, veth (emulated), default METHOD: PollDevice(v1) -> ToDevice(v2)"
route router-veth veth.click netmap:v0 netmap:v3 "" \
  pd.count pd.zero_copy pd.method td.count td.zero_copy td.copies td.method q.drops
need pd.method NETMAP /tmp/router-veth.h router-veth
need td.method NETMAP /tmp/router-veth.h router-veth
need td.zero_copy "$N" /tmp/router-veth.h router-veth
vethstats
grep -q 'netmap is there: METHOD NETMAP' /tmp/router-veth.log \
  || fail "router-veth: the default choice of netmap was not logged"

# --- Rates: pkt-gen alone, then pkt-gen through the router, same guest.
# rate NAME TXPORT RXPORT: pkt-gen for D seconds; frames received over
# the sender's time.
rate() {
  pkt-gen -i "$3" -f rx -w 1 > /tmp/rx.log 2>&1 & rx=$!
  sleep 1
  pkt-gen -i "$2" -f tx -w 1 > /tmp/tx.log 2>&1 & tx=$!
  sleep "$D"; kill -INT $tx; wait $tx; sleep 1; kill -INT $rx; wait $rx
  sent=$(sed -n 's/^Sent \([0-9]*\) packets.* in \([0-9.]*\) seconds.*/\1 \2/p' /tmp/tx.log)
  got=$(sed -n 's/^Received \([0-9]*\) packets.*/\1/p' /tmp/rx.log)
  echo "$sent $got" | awk -v n="$1" '$2 > 0 && $3 > 0 { printf "RATE %s %.0f pps (sent %d in %.2f s, received %d)\n", n, $3 / $2, $1, $2, $3 }'
  [ -n "$got" ] && [ "$got" -gt 0 ] || fail "$1: pkt-gen received nothing"
}
# rate_router NAME CONFIG TXPORT RXPORT
rate_router() {
  ./router -h fd.count -h fd.calls -h fd.empty_calls -h fd.syscalls -h fd.copies -h q.drops \
    -h td.count -h td.zero_copy -h td.copies -h td.calls -h td.holds -h td.syscalls \
    "$2" > "/tmp/$1.h" 2> "/tmp/$1.log" & rpid=$!
  sleep 1
  rate "$1" "$3" "$4"
  # The router's CPU time (user + system, in 1/100 s) over its whole run.
  cpu=$(awk '{ print $14 + $15 }' /proc/$rpid/stat)
  kill -INT $rpid; wait $rpid || fail "$1: the router exited with $?"
  echo "  router CPU $cpu/100 s over $((D + 3)) s"
  awk 'NF { if (k) { printf " %s %s", k, $0; k = "" } else k = $0 } END { print "" }' "/tmp/$1.h"
  # Queue(1024) stays short of FromDevice's 4096 spare buffers, so
  # nothing is copied even when pkt-gen's receiver falls behind (the
  # queue drops instead, as Click's does).
  [ "$(hval fd.copies "/tmp/$1.h")" = 0 ] || fail "$1: FromDevice copied"
  [ "$(hval td.copies "/tmp/$1.h")" = 0 ] || fail "$1: ToDevice copied"
}
# rate_bridge NAME PORT-A PORT-B TXPORT RXPORT: netmap's own zero-copy
# forwarder (apps/bridge, built by build-bridge.sh) between pkt-gens, the
# reference for the router: it swaps buffers as the router does, so it
# pays the same NS_BUF_CHANGED rewrites in pkt-gen's transmitter.
rate_bridge() {
  [ -x ./bridge ] || { fail "$1: no ./bridge in the guest"; return; }
  ./bridge -w 1 -i "$2" -i "$3" > "/tmp/$1.log" 2>&1 & bpid=$!
  sleep 2
  rate "$1" "$4" "$5"
  cpu=$(awk '{ print $14 + $15 }' /proc/$bpid/stat)
  kill -INT $bpid; wait $bpid || fail "$1: bridge exited with $?"
  echo "  bridge CPU $cpu/100 s over $((D + 4)) s"
  grep -q 'zerocopy supported' "/tmp/$1.log" || { cat "/tmp/$1.log"; fail "$1: bridge did not swap (zero copy)"; }
}
echo "=== rates (TCG: they prove function, not speed)"
# Pipes three times, pkt-gen alone, through netmap's bridge and through
# the router in turn: the host's load moves TCG's speed by 2x and more
# within a minute, so the three are compared by their medians over
# interleaved runs.
for round in 1 2 3; do
  rate pktgen-pipe "netmap:p$round{1" "netmap:p$round}1"
  rate_bridge bridge-pipe 'netmap:r}1' 'netmap:r{2' 'netmap:r{1' 'netmap:r}2'
  rate_router router-pipe rate-pipes.click 'netmap:r{1' 'netmap:r}2'
done
rate pktgen-vale vale4:a vale4:b
rate_router router-vale rate-vale.click vale5:s vale6:d
rate pktgen-veth netmap:v0 netmap:v1
rate_router router-veth rate-veth.click netmap:v0 netmap:v3

echo "guest checks failed: $fails"
[ "$fails" = 0 ]
