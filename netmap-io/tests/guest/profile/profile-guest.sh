#!/bin/sh
# Runs in the netmap guest for profile.sh (busybox sh, from /prog): ROUNDS
# times, pkt-gen alone pipe to pipe, then for each router binary named,
# rate-pipes.click between pkt-gen's transmitter and receiver, SECONDS
# each. In the first round, PROFILE-SNAP-N lines on the console just
# before the transmitter starts and just after it stops (the host takes
# the plugin's snapshots then). Prints each run's text mapping, rate,
# CPU time and handlers, then /proc/kallsyms (gzip, base64) for the
# report. ASLR is off and the kernel booted with nokaslr, so addresses
# hold across the run.
# The name "bridge" runs netmap's own forwarder (./bridge) instead, between
# the same pipes; its HANDLERS line gives pkt-gen's received count.
#   profile-guest.sh SECONDS ROUNDS ROUTER|bridge...
D=$1 ROUNDS=$2; shift 2
cd /prog || exit 2
PATH=/prog:/opt/iproute2:$PATH
echo 0 > /proc/sys/kernel/randomize_va_space
echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
# pktgen NAME: pkt-gen alone over a pipe of its own.
pktgen() {
  pkt-gen -i "netmap:$1}1" -f rx -w 1 > /tmp/rx.log 2>&1 & rx=$!
  sleep 1
  pkt-gen -i "netmap:$1{1" -f tx -w 1 > /tmp/tx.log 2>&1 & tx=$!
  sleep "$D"; kill -INT $tx; wait $tx; sleep 1; kill -INT $rx; wait $rx
  rate pktgen-pipe
}
rate() {
  sent=$(sed -n 's/^Sent \([0-9]*\) packets.* in \([0-9.]*\) seconds.*/\1 \2/p' /tmp/tx.log)
  got=$(sed -n 's/^Received \([0-9]*\) packets.*/\1/p' /tmp/rx.log)
  echo "$sent $got" | awk -v n="$1" '$2 > 0 { printf "RATE %s %.0f pps (sent %d in %.2f s, received %d)\n", n, $3 / $2, $1, $2, $3 }'
}
k=0
round=1
while [ $round -le "$ROUNDS" ]; do
  pktgen "p$round"
  for r in "$@"; do
    if [ "$r" = bridge ]; then
      # netmap's own zero-copy forwarder, the reference (build-bridge.sh).
      ./bridge -w 1 -i 'netmap:r}1' -i 'netmap:r{2' > /tmp/h 2> /tmp/log & rpid=$!
      sleep 1
    else
      ./"$r" -h fd.count -h fd.calls -h fd.empty_calls -h fd.syscalls -h fd.copies -h q.drops \
        -h td.count -h td.zero_copy -h td.copies -h td.calls -h td.holds -h td.syscalls \
        rate-pipes.click > /tmp/h 2> /tmp/log & rpid=$!
    fi
    sleep 1
    [ $round = 1 ] && echo "MAP $r $(grep -m1 "r-xp.*/$r\$" /proc/$rpid/maps)"
    pkt-gen -i 'netmap:r}2' -f rx -w 1 > /tmp/rx.log 2>&1 & rx=$!
    sleep 1
    [ $round = 1 ] && echo "PROFILE-SNAP-$k"
    pkt-gen -i 'netmap:r{1' -f tx -w 1 > /tmp/tx.log 2>&1 & tx=$!
    sleep "$D"; kill -INT $tx; wait $tx
    [ $round = 1 ] && echo "PROFILE-SNAP-$((k + 1))"
    sleep 1; kill -INT $rx; wait $rx
    st=$(awk '{ print $14, $15 }' /proc/$rpid/stat)
    kill -INT $rpid; wait $rpid
    rate "$r"
    echo "CPU $r utime stime (1/100 s): $st"
    if [ "$r" = bridge ]; then
      grep -q 'zerocopy supported' /tmp/log || { cat /tmp/log; echo "FAIL: bridge did not swap"; }
      printf 'received:\n%s\n' "$(sed -n 's/^Received \([0-9]*\) packets.*/\1/p' /tmp/rx.log)" > /tmp/h
    fi
    awk 'NF { if (k) { printf " %s %s", k, $0; k = "" } else k = $0 } END { print "" }' /tmp/h | sed "s/^/HANDLERS $r round $round:/"
    [ $round = 1 ] && k=$((k + 2))
  done
  round=$((round + 1))
done
grep -E ' [tT] ' /proc/kallsyms | gzip -c | base64 | sed 's/^/KSYM /'
