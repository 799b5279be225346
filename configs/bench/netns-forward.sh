#!/usr/bin/env bash
# IP forwarding between network namespaces, side by side in one run on
# the same namespaces (docs/PERFORMANCE.md, "Forwarding real traffic"):
#
#   host-a a0 10.1.1.2 ── r0 [router ns] r1 ── b0 10.1.2.2 host-b
#
# through (1) configs/ip-router.click on our router, METHOD PACKET and
# XDP, one core (router -j 1, pinned to core 1); (2) the Linux kernel
# (addresses on r0/r1, ip_forward=1); (3) the original Click, user level,
# on the same configuration (METHOD LINUX), if $CLICK exists (default
# /tmp/baselines/click). For each: ping's round trip a→b (median/99th
# percentile, µs), iperf3 TCP throughput a→b, and a
# flood of minimum-size UDP frames (trafgen) in packets per second
# delivered to host-b's device, with the router's CPU time per delivered packet
# (its process's user+system time; for the kernel, the softirq time of
# all CPUs) and each core's busy time per delivered packet (where the
# whole path's work landed: generators, forwarding, the hosts' stacks).
# Then, for our router, `strace -c` attached to each of its
# threads (`-p TID` per thread: what `strace -c -f -p PID` means to do) during a
# flood: system calls per delivered packet.
#
#   configs/bench/netns-forward.sh [SECONDS] [RUNS]   (as root, from the repository root)
#
# METHODS="XDP" (say) limits our router's runs to those methods; ROUTER
# and CLICK name the binaries (CLICK=/nonexistent skips Click), CONF the
# configuration (default configs/ip-router.click). Each row ends with the
# hypervisor's steal time over both cores during the flood (TCP's is in
# its parentheses).
#
# With PROFILE=DIR (and perf installed), each TCP measure through a
# user-level router (ours with each method, Click) also records both
# cores (`perf record -a -g`, 4 s from its second second) into
# DIR/perf-NAME-runN.data: where each core goes
# (`perf report -i FILE --no-children --sort cpu,sym`); and each flood (the
# kernel's too) records both cores (`perf record -a -g`, 3 s) into
# DIR/perf-NAME-runN-flood.data (`--sort cpu,comm,sym`).
#
# TCP_ONLY=1 takes only the TCP measure (no ping, flood or strace): for
# many quick alternations of the kernel and the router.
#
# THREADS=2 measures our router with -j 2 and two receive queues per
# device (the veths made with two queues) on both cores, instead of -j 1.
#
# The generators (iperf3 client and server) are pinned to core 0, the
# user-level routers to core 1. Needs ip, ethtool, iperf3, strace,
# and trafgen (netsniff-ng) for the flood (else iperf3, slower).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-5}
runs=${2:-1}
bin=${ROUTER:-${CARGO_TARGET_DIR:-target}/release/router}
click=${CLICK:-/tmp/baselines/click}
conf=${CONF:-configs/ip-router.click}
[ "$(id -u)" = 0 ] || { echo "netns-forward: run as root" >&2; exit 1; }
for t in ip ethtool iperf3 strace taskset ${PROFILE:+perf}; do
    command -v $t >/dev/null || { echo "netns-forward: needs $t" >&2; exit 1; }
done
[ -x "$bin" ] || cargo build --release -q --bin router

tag=nf-$$
A=rt-$tag-a R=rt-$tag-r B=rt-$tag-b
dir=$(mktemp -d)
cleanup() {
    for ns in $A $R $B; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$dir"
}
trap cleanup EXIT

inA() { ip netns exec "$A" "$@"; }
inR() { ip netns exec "$R" "$@"; }
inB() { ip netns exec "$B" "$@"; }

for ns in $A $R $B; do
    ip netns add "$ns"
    ip netns exec "$ns" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6'
    ip -n "$ns" link set lo up
done
threads=${THREADS:-1}
q="numtxqueues $threads numrxqueues $threads"
ip -n "$R" link add r0 $q type veth peer name a0 netns "$A" $q
ip -n "$R" link add r1 $q type veth peer name b0 netns "$B" $q
prep() { # ns dev mac
    ip -n "$1" link set "$2" address "$3"
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null
    ip -n "$1" link set "$2" up
}
prep "$R" r0 02:00:00:00:01:01; prep "$R" r1 02:00:00:00:02:01
prep "$A" a0 02:00:00:00:01:02; prep "$B" b0 02:00:00:00:02:02
ip -n "$A" addr add 10.1.1.2/24 dev a0; ip -n "$A" route add default via 10.1.1.1
ip -n "$B" addr add 10.1.2.2/24 dev b0; ip -n "$B" route add default via 10.1.2.1
inR sysctl -qw net.ipv4.ip_forward=0

defs=(DEV0=r0 DEV1=r1 MAC0=02:00:00:00:01:01 MAC1=02:00:00:00:02:01)

# CPU ticks (user+system) of process $1.
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Softirq ticks of all CPUs.
softirq_ticks() { awk '/^cpu /{print $8}' /proc/stat; }
# Busy ticks (user, nice, system, irq, softirq) of cores 0 and 1.
core_ticks() { awk '/^cpu[01] /{printf "%d ", $2 + $3 + $4 + $7 + $8}' /proc/stat; }
# Steal ticks of both cores: time the hypervisor ran something else while
# a core had work. It is not ours to control, and it hits a measure that
# keeps both cores busy (a user-level router) harder than one that keeps
# one busy (the kernel forwarding in the sender's softirq): each row
# reports it.
steal_ticks() { awk '/^cpu /{print $9}' /proc/stat; }
hz=$(getconf CLK_TCK)

# The value of the last "key": N in a JSON text on stdin.
json_last() { grep -o "\"$1\":[[:space:]]*[0-9.e+-]*" | tail -1 | sed 's/.*:[[:space:]]*//'; }

wait_reachable() {
    for _ in $(seq 100); do
        inA ping -c1 -W1 -q 10.1.2.2 >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "netns-forward: 10.1.2.2 unreachable through $1" >&2
    return 1
}

# Starts a one-off iperf3 server in host-b; its pid in $srv.
iperf_server() {
    ip netns exec "$B" taskset -c 0 iperf3 -s -1 -B 10.1.2.2 >/dev/null 2>&1 &
    srv=$!
    sleep 0.5
}

# Frames the middle namespace's two devices have received: the data
# a→b on r0, the ACKs b→a on r1, whoever forwards them.
mid_rx() { inR cat /sys/class/net/r0/statistics/rx_packets /sys/class/net/r1/statistics/rx_packets | awk "{s += \$1} END {print s}"; }

# tcp [PROFILE-FILE]: Gbit/s received by host-b, how busy cores 0 and 1
# were meanwhile (percent), the steal, the sender's retransmits (a
# forwarder's drops: the kernel's forwarding has none here), and the busy
# time of both cores per frame forwarded (data and ACKs: the whole path's
# cost, the hosts' TCP included); both cores recorded into PROFILE-FILE
# meanwhile, if given.
tcp() {
    local prof=
    iperf_server
    if [ -n "${1:-}" ]; then
        (sleep 1; perf record -q -a -g -o "$1" -- sleep 4 >/dev/null 2>&1) &
        prof=$!
    fi
    local b0 c0 b1 c1 t0 t1 s0 s1 f0 f1
    f0=$(mid_rx); read -r b0 c0 <<< "$(core_ticks)"; s0=$(steal_ticks); t0=$(date +%s.%N)
    inA taskset -c 0 iperf3 -c 10.1.2.2 -t "$secs" -J > "$dir/tcp.json"
    read -r b1 c1 <<< "$(core_ticks)"; s1=$(steal_ticks); t1=$(date +%s.%N); f1=$(mid_rx)
    wait $srv
    [ -z "$prof" ] || wait $prof
    awk -v b="$(json_last bits_per_second < "$dir/tcp.json")" -v x=$((b1 - b0)) -v y=$((c1 - c0)) \
        -v t0="$t0" -v t1="$t1" -v hz="$hz" -v st=$((s1 - s0)) \
        -v rt="$(json_last retransmits < "$dir/tcp.json")" -v f=$((f1 - f0)) \
        'BEGIN{if (f<=0) f=1; printf "%.2f %.0f%%/%.0f%%,steal:%.0f%%,retransmits:%d,busy:%.2f", b/1e9, 100*x/hz/(t1-t0), 100*y/hz/(t1-t0), 50*st/hz/(t1-t0), rt, (x+y)/hz*1e6/f}'
}

# rtt: the round trip of 300 pings a→b, 2 ms apart, through the
# forwarder: median and 99th percentile, in microseconds.
rtt() {
    inA ping -c 300 -i 0.002 10.1.2.2 | sed -n 's/.*time=\([0-9.]*\).*/\1/p' | sort -n |
        awk '{a[NR] = $1} END {printf "%.0f/%.0f", 1000*a[int(NR/2)], 1000*a[int(NR*0.99)]}'
}

# Frames host-b's device has received.
b_rx() { inB cat /sys/class/net/b0/statistics/rx_packets; }

# Frames host-a's device has sent.
a_tx() { inA cat /sys/class/net/a0/statistics/tx_packets; }

# The flood: minimum-size frames (60 bytes, 64 on a wire with its FCS),
# UDP 10.1.1.2:9 -> 10.1.2.2:9, to the router's MAC, for $secs seconds on
# core 0, by trafgen (AF_PACKET TX ring, ~0.6 Mpps here), else by iperf3
# (-u -b 0 -l 18: its own headers make it slower).
cat > "$dir/udp64.trafgen" <<'TG'
{
  0x02, 0x00, 0x00, 0x00, 0x01, 0x01,  0x02, 0x00, 0x00, 0x00, 0x01, 0x02,  0x08, 0x00,
  0x45, 0x00, const16(46), const16(0), 0x40, 0x00, 64, 17, csumip(14, 33),
  10, 1, 1, 2,  10, 1, 2, 2,
  const16(9), const16(9), const16(26), const16(0),
  fill(0x00, 18),
}
TG
flood() {
    # A socket bound to the flood's port that is never read: host-b
    # drops the frames when its buffer is full rather than answering each
    # with an ICMP port unreachable, work that veth would run on the
    # router's core (its transmit runs host-b's receive).
    ip netns exec "$B" python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.1.2.2", 9)); time.sleep(3600)' >/dev/null 2>&1 &
    local sink=$!
    sleep 0.3
    if command -v trafgen >/dev/null; then
        inA timeout -s INT "$secs" taskset -c 0 trafgen --dev a0 --conf "$dir/udp64.trafgen" --cpus 1 >/dev/null 2>&1 || true
    else
        iperf_server
        inA taskset -c 0 iperf3 -c 10.1.2.2 -u -b 0 -l 18 -t "$secs" >/dev/null || true
        wait $srv
    fi
    kill $sink 2>/dev/null || true; wait $sink 2>/dev/null || true
}

# udp PID [PROFILE-FILE]: kpps sent by host-a and delivered to host-b's device (its
# rx_packets), CPU ns per delivered packet (process PID's, or softirq
# time when PID is "kernel"), and each core's busy time (user, system,
# irq, softirq) per delivered packet: what the whole path cost each core;
# both cores recorded into PROFILE-FILE meanwhile, if given.
udp() {
    local t0 r0 s0 t1 r1 s1 c0 c1 b0 b1 st0 st1 w0 w1 prof=
    if [ "$1" = kernel ]; then t0=$(softirq_ticks); else t0=$(proc_ticks "$1"); fi
    r0=$(b_rx); s0=$(a_tx); read -r b0 c0 <<< "$(core_ticks)"; st0=$(steal_ticks); w0=$(date +%s.%N)
    if [ -n "${2:-}" ]; then
        (sleep 1; perf record -q -a -g -o "$2" -- sleep 3 >/dev/null 2>&1) &
        prof=$!
    fi
    flood
    [ -z "$prof" ] || wait $prof
    read -r b1 c1 <<< "$(core_ticks)"; st1=$(steal_ticks); w1=$(date +%s.%N)
    sleep 0.2
    r1=$(b_rx); s1=$(a_tx)
    if [ "$1" = kernel ]; then t1=$(softirq_ticks); else t1=$(proc_ticks "$1"); fi
    awk -v d=$((r1 - r0)) -v o=$((s1 - s0)) -v s="$secs" -v t=$((t1 - t0)) -v b=$((b1 - b0)) -v c=$((c1 - c0)) -v hz="$hz" \
        -v st=$((st1 - st0)) -v w0="$w0" -v w1="$w1" \
        'BEGIN{if (d<=0) d=1; printf "%.0f %.0f %.0f %.0f %.0f %.0f", o/s/1000, d/s/1000, t/hz*1e9/d, b/hz*1e9/d, c/hz*1e9/d, 50*st/hz/(w1-w0)}'
}

# syscalls PID: system calls per delivered packet, strace attached to
# every thread of PID during a flood.
syscalls() {
    local tids=() t r0 r1 st calls
    for t in /proc/"$1"/task/*; do tids+=(-p "${t##*/}"); done
    strace -c -q "${tids[@]}" -o "$dir/strace.txt" &
    st=$!
    sleep 0.5
    r0=$(b_rx)
    flood
    sleep 0.2
    r1=$(b_rx)
    kill -INT $st; wait $st 2>/dev/null || true
    calls=$(awk '$NF=="total"{print $4}' "$dir/strace.txt")
    local top
    top=$(awk '$1 ~ /^[0-9.]+$/ && $NF != "total" {print $NF " " $4}' "$dir/strace.txt" | sort -k2 -nr | head -4 | paste -sd, -)
    awk -v c="${calls:-0}" -v d=$((r1 - r0)) -v top="$top" \
        'BEGIN{if (d<=0) d=1; printf "%.3f (%d calls: %s; %d packets)", c/d, c, top, d}'
}

# row NAME PID: one line of results.
row() {
    local t prof=
    if [ -n "${PROFILE:-}" ] && [ "$2" != kernel ]; then
        prof=$PROFILE/perf-$(echo "$1" | tr ' ' '-')-run$run.data
    fi
    if [ -n "${TCP_ONLY:-}" ]; then
        read -r t tbusy <<< "$(tcp $prof)"
        printf '%-20s TCP %6s Gbit/s (cores busy %s µs/frame)\n' "$1" "$t" "$(echo "$tbusy" | sed 's/,steal:/, steal /; s/,retransmits:/, retransmits /; s/,busy:/, both cores busy /')"
        return
    fi
    local lat; lat=$(rtt)
    read -r t tbusy <<< "$(tcp $prof)"
    local fprof=${PROFILE:+$PROFILE/perf-$(echo "$1" | tr ' ' '-')-run$run-flood.data}
    read -r sent got cpu core0 core1 steal <<< "$(udp "$2" $fprof)"
    printf '%-20s ping %9s us   TCP %6s Gbit/s (cores busy %s)   64-byte UDP: %5s kpps sent, %5s kpps delivered, %6s ns CPU/packet; busy ns/packet: core 0 %5s, core 1 %5s; steal %s%%\n' \
        "$1" "$lat" "$t" "$(echo "$tbusy" | sed 's/,steal:/, steal /; s/,retransmits:/, retransmits /; s/,busy:/, both cores busy /; s/$/ µs\/frame/')" "$sent" "$got" "$cpu" "$core0" "$core1" "$steal"
}

echo "== machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $secs s per measure, $runs run(s); router on core 1, iperf3 client and server on core 0"
for run in $(seq "$runs"); do
    echo "-- run $run"
    inR ip addr add 10.1.1.1/24 dev r0; inR ip addr add 10.1.2.1/24 dev r1
    inR sysctl -qw net.ipv4.ip_forward=1
    wait_reachable kernel
    row "linux ip_forward" kernel
    inR sysctl -qw net.ipv4.ip_forward=0
    inR ip addr flush dev r0; inR ip addr flush dev r1
    inA ip neigh flush dev a0; inB ip neigh flush dev b0

    # One thread reads one queue: with THREADS=N the veths have N, so only
    # the -j N rows run.
    [ "$threads" -gt 1 ] || for m in ${METHODS:-PACKET XDP}; do
        ip netns exec "$R" taskset -c 1 "$bin" -j 1 --no-affinity "$conf" "${defs[@]}" METHOD=$m 2>"$dir/router.log" &
        pid=$!
        wait_reachable "router $m" || { cat "$dir/router.log" >&2; exit 1; }
        row "router $m" "$pid"
        if [ "$run" = 1 ] && [ -z "${TCP_ONLY:-}" ]; then
            echo "   router $m: $(syscalls "$pid") system calls per packet under strace -c"
        fi
        kill -INT "$pid"; wait "$pid" || true
        inA ip neigh flush dev a0; inB ip neigh flush dev b0
    done

    # THREADS=N: our router with -j N, N receive queues per device
    # (make-ip-conf.py --threads N), on every core, the generators' too.
    if [ "$threads" -gt 1 ]; then
        for m in ${METHODS:-PACKET XDP}; do
            python3 configs/make-ip-conf.py --threads "$threads" --method "$m" \
                r0:10.1.1.1/24:02:00:00:00:01:01 r1:10.1.2.1/24:02:00:00:00:02:01 > "$dir/ip-router-$threads.click"
            ip netns exec "$R" "$bin" -j "$threads" "$dir/ip-router-$threads.click" 2>"$dir/router.log" &
            pid=$!
            wait_reachable "router $m -j $threads" || { cat "$dir/router.log" >&2; exit 1; }
            row "router $m -j $threads" "$pid"
            kill -INT "$pid"; wait "$pid" || true
            inA ip neigh flush dev a0; inB ip neigh flush dev b0
        done
    fi

    if [ -x "$click" ]; then
        ip netns exec "$R" taskset -c 1 "$click" "$conf" "${defs[@]}" METHOD=LINUX 2>"$dir/click.log" &
        pid=$!
        if wait_reachable "click"; then
            row "click (user level)" "$pid"
        else
            echo "click: not reachable; its log:"; cat "$dir/click.log"
        fi
        kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
        inA ip neigh flush dev a0; inB ip neigh flush dev b0
    fi
done
