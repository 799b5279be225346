#!/usr/bin/env bash
# netmap's own zero-copy forwarder, apps/bridge/bridge.c, as a static
# binary for the guest: the reference the router's pipe rate is compared
# with (run.sh and profile/profile.sh). Built once from the rig's netmap
# source with the flags of its app makefile (build/build-apps/bridge),
# static like the rig's pkt-gen, and cached as $RIG/static/bridge
# (stripped) and $RIG/static/bridge.full (with symbols, for the profile).
# Linked at 0x20000000 rather than the usual 0x400000, so that its blocks
# do not share guest addresses with pkt-gen's (also static, non-PIE) and
# the profile can tell the two apart.
#   build-bridge.sh RIG_DIR
set -euo pipefail
RIG=$1
S=$RIG/src/netmap
out=$RIG/static/bridge
[ -x "$out" ] && [ -f "$out.full" ] && [ "$out.full" -nt "$0" ] && exit 0
[ -f "$S/apps/bridge/bridge.c" ] || { echo "build-bridge: no $S/apps/bridge/bridge.c (the rig's netmap source)" >&2; exit 1; }
[ -f "$RIG/build/build-libnetmap/libnetmap.a" ] || { echo "build-bridge: no libnetmap.a in $RIG/build" >&2; exit 1; }
tmp=$(mktemp "$RIG/static/bridge.XXXXXX")
cc -O2 -pipe -g -Wall -Wunused-function -Wextra -Werror \
  -I "$S/sys" -I "$S/apps/include" -I "$S/libnetmap" \
  -static -Wl,-Ttext-segment=0x20000000 -o "$tmp" "$S/apps/bridge/bridge.c" \
  -L "$RIG/build/build-libnetmap" -lnetmap -lrt
strip -o "$out" "$tmp"
mv "$tmp" "$out.full"
echo "build-bridge: built $out"
