#!/usr/bin/env bash
# The netmap backend on a real netmap kernel: boots the QEMU guest of
# ../shared/netmap (netmap.ko built from netmap's source; no module can
# load on these hosts) and runs netmap-guest.sh in it: the library and the
# router's own configurations forwarding over netmap pipes, VALE switches
# and veth pairs in emulated mode, every frame checked, and rates beside
# pkt-gen's. Run as root (apt-get for the rig's packages).
#
#   netmap-io/tests/guest/run.sh [N] [SECONDS]
#
# Caches in $NETMAP_RIG_DIR (default ${TMPDIR:-/tmp}/netmap-rig): the rig
# (kernel, netmap.ko, initramfs: built by setup.sh when missing) and the
# static binaries' cargo target directory. Fails, never skips, when a part
# is missing. The guest runs under TCG: rates prove function, not speed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
SHARED=${NETMAP_SHARED:-$ROOT/../shared/netmap}
RIG=${NETMAP_RIG_DIR:-${TMPDIR:-/tmp}/netmap-rig}
N=${1:-20000}
D=${2:-4}
start=$(date +%s)
die() { echo "netmap guest test: FAIL: $*" >&2; exit 1; }

for f in setup.sh run-guest.sh; do
  [ -x "$SHARED/$f" ] || die "$SHARED/$f is missing (the netmap rig from shared/)"
done
kv=$(cat "$RIG/kv" 2>/dev/null || true)
if [ -z "$kv" ] || [ ! -f "$RIG/kroot/boot/vmlinuz-$kv" ] || [ ! -f "$RIG/base.cpio.gz" ] \
   || ! command -v qemu-system-x86_64 >/dev/null; then
  echo "netmap guest test: building the rig in $RIG (setup.sh)"
  [ "$(id -u)" = 0 ] || die "setup.sh needs root (apt-get)"
  RIG_DIR=$RIG "$SHARED/setup.sh" || die "setup.sh failed"
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing after setup.sh"
command -v strip >/dev/null || die "strip (binutils) is missing"
"$HERE/build-bridge.sh" "$RIG" || die "building netmap's bridge (build-bridge.sh)"

# Static binaries for the guest. The guest's CPU (QEMU's default model
# under TCG) has no AVX2, which the project's x86-64-v3 build needs, so
# these are built for plain x86-64 (RUSTFLAGS replaces .cargo/config.toml's).
export CARGO_TARGET_DIR=$RIG/cargo-target
RUSTFLAGS='-C target-feature=+crt-static -C target-cpu=x86-64 -C llvm-args=-align-loops=64' \
  cargo build --release --target x86_64-unknown-linux-gnu \
    -p router --bin router -p netmap-io --example netmap_guest \
  || die "building the static binaries"
B=$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release
STAGE=$(mktemp -d "$RIG/stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
strip -o "$STAGE/router" "$B/router"
strip -o "$STAGE/netmap_guest" "$B/examples/netmap_guest"
cp "$HERE"/*.click "$HERE/netmap-guest.sh" "$STAGE/"
built=$(date +%s)

LOG=$RIG/guest.log
files=""
for f in "$STAGE"/router "$STAGE"/netmap_guest "$RIG"/static/bridge "$STAGE"/*.click; do files="$files $f"; done
set +e
RIG_DIR=$RIG RIG_FILES="$files" RIG_TIMEOUT=${NETMAP_GUEST_TIMEOUT:-1500} RIG_LOG=$LOG RIG_QUIET=1 \
  "$SHARED/run-guest.sh" "$STAGE/netmap-guest.sh" "$N" "$D"
rc=$?
set -e
tr -d '\r' < "$LOG" | grep -vE '^\[ *[0-9]+\.[0-9]+\]' || true
end=$(date +%s)
echo "netmap guest test: build $((built - start)) s, guest $((end - built)) s, exit $rc"
tr -d '\r' < "$LOG" | grep '^RATE ' > "$RIG/rates.txt" || true
if [ "$rc" != 0 ]; then
  die "the guest's checks failed (exit $rc; the log: $LOG)"
fi
# The forwarding target: the router pipe to pipe at half pkt-gen's own
# pipe-to-pipe rate or better, medians of interleaved runs (reported, not
# failed on: TCG's speed follows the host's load).
awk '{ v[$2] = v[$2] " " $3 }
     function median(s,   a, n, i, j, t) {
       n = split(s, a, " ")
       for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
       return a[int((n + 1) / 2)]
     }
     END {
       for (k in v) printf "netmap guest test: %s median %d pps over%s\n", k, median(v[k]), v[k]
       p = median(v["pktgen-pipe"]); r = median(v["router-pipe"])
       if (p > 0) printf "netmap guest test: router pipe-to-pipe at %.0f%% of pkt-gen'"'"'s rate (target: 50%%)\n", 100 * r / p
       b = median(v["bridge-pipe"])
       if (b > 0) printf "netmap guest test: router pipe-to-pipe at %.0f%% of netmap bridge'"'"'s rate\n", 100 * r / b
     }' "$RIG/rates.txt" | sort
echo "netmap guest test: passed"
