#!/usr/bin/env bash
# Where the router's time goes in the netmap guest: boots the guest of
# run.sh with a QEMU plugin (tbprof.c) counting executed guest
# instructions per translation block, runs netmap's own bridge and then
# rate-pipes.click between pkt-gens once per router binary (this tree's
# build, then each BASE given, e.g. an older build's unstripped router),
# and reports per
# forwarded packet: instructions of the router's code by function (its
# debug info), of the kernel by function (/proc/kallsyms), and locked
# and syscall instructions. Instruction counts follow the code, not the
# host's load; TCG's time per instruction does not (see PERFORMANCE.md).
# With ROUNDS=N (default 1) the runs are repeated N times, pkt-gen alone
# first in each round, for rates compared by medians; NOPLUGIN=1 leaves
# the plugin out (rates at full TCG speed, no profile); KEEP=DIR keeps the
# snapshots and binaries there.
#
#   netmap-io/tests/guest/profile/profile.sh [SECONDS [BASE...]]
#
# Needs the rig of run.sh (run it once first) and a C compiler; caches as
# run.sh does, in $NETMAP_RIG_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../../.." && pwd)
SHARED=${NETMAP_SHARED:-$ROOT/../shared/netmap}
RIG=${NETMAP_RIG_DIR:-${TMPDIR:-/tmp}/netmap-rig}
D=${1:-4}; shift || true
die() { echo "profile: FAIL: $*" >&2; exit 1; }
[ -f "$RIG/kv" ] || die "no rig in $RIG (run netmap-io/tests/guest/run.sh first)"
export CARGO_TARGET_DIR=$RIG/cargo-target
RUSTFLAGS='-C target-feature=+crt-static -C target-cpu=x86-64 -C llvm-args=-align-loops=64' \
  cargo build --release --target x86_64-unknown-linux-gnu -p router --bin router \
  || die "building the static router"
STAGE=$(mktemp -d "$RIG/profile.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
ROUNDS=${ROUNDS:-1}
if [ -z "${NOPLUGIN:-}" ]; then
  cc -O2 -shared -fPIC -fvisibility=hidden -o "$STAGE/tbprof.so" "$HERE/tbprof.c" -lpthread \
    || die "building the plugin"
  plugin=(-plugin "$STAGE/tbprof.so,snap=$STAGE/snap")
else
  plugin=()
fi
"$HERE/../build-bridge.sh" "$RIG" || die "building netmap's bridge"
names=(bridge router)
cp "$RIG/static/bridge.full" "$STAGE/bridge.full"
cp "$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/router" "$STAGE/router.full"
i=0
for b in "$@"; do
  i=$((i + 1)); names+=("base$i"); cp "$b" "$STAGE/base$i.full"
done
files=""
for n in "${names[@]}"; do strip -o "$STAGE/$n" "$STAGE/$n.full"; files="$files $STAGE/$n"; done
cp "$HERE/../rate-pipes.click" "$STAGE/"
files="$files $STAGE/rate-pipes.click"
# run-guest.sh with the plugin on QEMU's command line.
sed 's|cmd=(qemu-system-x86_64 |cmd=(qemu-system-x86_64 ${TBPROF:+-plugin "$TBPROF"} |' "$SHARED/run-guest.sh" > "$STAGE/run-guest.sh"
chmod +x "$STAGE/run-guest.sh"
LOG=$STAGE/console.log; : > "$LOG"
n=$((2 * ${#names[@]}))
( k=0; while [ $k -lt $n ]; do
    if tr -d '\r' < "$LOG" | grep -q "^PROFILE-SNAP-$k\$"; then touch "$STAGE/snap.$k"; k=$((k + 1)); fi
    sleep 0.05
  done ) & watcher=$!
set +e
TBPROF=${plugin[1]:-} RIG_DIR=$RIG RIG_FILES="$files" RIG_TIMEOUT=1500 RIG_LOG=$LOG RIG_QUIET=1 \
  RIG_APPEND=nokaslr "$STAGE/run-guest.sh" "$HERE/profile-guest.sh" "$D" "$ROUNDS" "${names[@]}"
rc=$?
set -e
kill $watcher 2>/dev/null || true
tr -d '\r' < "$LOG" | grep -E '^(clocksource|RATE|CPU|HANDLERS)' || true
[ "$rc" = 0 ] || die "the guest run failed (exit $rc)"
# Medians per binary (and pkt-gen alone), as run.sh compares them.
tr -d '\r' < "$LOG" | awk '/^RATE / { v[$2] = v[$2] " " $3 }
  function median(s,   a, n, i, j, t) {
    n = split(s, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return a[int((n + 1) / 2)]
  }
  END {
    for (k in v) printf "profile: %s median %d pps over%s\n", k, median(v[k]), v[k]
    p = median(v["pktgen-pipe"]); r = median(v["router"]); b = median(v["bridge"])
    if (p > 0) printf "profile: ~ router at %.1f%% of pkt-gen alone (target 50%%), bridge at %.1f%%\n", 100 * r / p, 100 * b / p
    if (b > 0) printf "profile: ~ router at %.1f%% of bridge\n", 100 * r / b
  }' | sort
[ -n "${NOPLUGIN:-}" ] && exit 0
tr -d '\r' < "$LOG" | sed -n 's/^KSYM //p' | base64 -d | gunzip > "$STAGE/kallsyms"
# KEEP=DIR keeps the snapshots, binaries and log for a closer look.
if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp -a "$STAGE"/. "$KEEP"/; fi
k=0
for nm in "${names[@]}"; do
  map=$(tr -d '\r' < "$LOG" | sed -n "s/^MAP $nm //p")
  if [ "$nm" = bridge ]; then
    # bridge counts nothing itself: pkt-gen's receiver's count, which is
    # what it forwarded (it never drops; a ring's worth may be in flight).
    pk=$(tr -d '\r' < "$LOG" | sed -n "s/^HANDLERS $nm round 1:.* received: \([0-9]*\).*/\1/p")
  else
    pk=$(tr -d '\r' < "$LOG" | sed -n "s/^HANDLERS $nm round 1:.* fd.count: \([0-9]*\).*/\1/p")
  fi
  echo "=== $nm: $pk packets received by the forwarder between snapshots $k and $((k + 1))"
  python3 "$HERE/tbprof-report.py" "$STAGE/snap.out.$k" "$STAGE/snap.out.$((k + 1))" \
    "$STAGE/$nm.full" "$map" "$STAGE/kallsyms" "$pk"
  k=$((k + 2))
done
