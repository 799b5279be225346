#!/usr/bin/env python3
"""Per-packet profile from two tbprof.c snapshots (see profile.sh).

    tbprof-report.py BEFORE AFTER ROUTER_UNSTRIPPED "MAPS_LINE" KALLSYMS PACKETS

MAPS_LINE is the router's executable mapping from /proc/PID/maps in the
guest ("start-end r-xp offset ..."; ROUTER may be any forwarder with
symbols, e.g. netmap's bridge). Prints, per packet: guest instructions,
executed blocks, guest memory accesses, locked and syscall instructions
by address region; the forwarder's instructions and memory accesses by
function (outermost inlined frame, from its debug info); the kernel's by
function (kallsyms)."""
import bisect
import collections
import subprocess
import sys

before, after, binary, maps, kallsyms, packets = sys.argv[1:7]
npk = float(packets)
lo, hi = (int(x, 16) for x in maps.split()[0].split("-"))
offset = int(maps.split()[2], 16)
# The file address of the mapping's start: the loadable segment holding
# that file offset (p_vaddr - p_offset is the same for the whole segment).
out = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True).stdout
delta = None
for line in out.splitlines():
    f = line.split()
    if f and f[0] == "LOAD" and "E" in f[6:-1]:
        off, vaddr, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
        if off <= offset < off + filesz or (off & ~0xfff) <= offset < off + filesz:
            delta = vaddr - off
if delta is None:
    sys.exit("no segment of %s maps offset %#x" % (binary, offset))
file_at = lambda va: va - lo + offset + delta


def load(path):
    m = {}
    for line in open(path):
        f = line.split()
        # Older snapshots have no memory column.
        mem = int(f[6]) if len(f) > 6 else 0
        m[(int(f[0], 16), int(f[1]), int(f[3]), int(f[4]))] = (int(f[2]), mem)
    return m


a, b = load(before), load(after)
rows, memof = [], {}
for k, (c, mem) in b.items():
    c0, mem0 = a.get(k, (0, 0))
    if c > c0:
        rows.append((k, c - c0))
        memof[k] = mem - mem0


def region(va):
    if va >= 0xFFFFFFFFC0000000:
        return "kernel modules (netmap)"
    if va >= 0xFFFF800000000000:
        return "kernel"
    if lo <= va < hi:
        return "forwarder (ROUTER)"
    if va < 0x1000000:
        return "static non-PIE (pkt-gen, busybox)"
    return "other user (vDSO, any process)"


tot = collections.defaultdict(lambda: [0, 0, 0, 0, 0])
for (va, n, lk, sy), c in rows:
    t = tot[region(va)]
    t[0] += c * n
    t[1] += c
    t[2] += c * lk
    t[3] += c * sy
    t[4] += memof[(va, n, lk, sy)]
print("per packet:                      instructions   blocks   locked   syscalls  memops")
for r, t in sorted(tot.items(), key=lambda x: -x[1][0]):
    print("  %-34s %8.1f %8.2f %8.4f %8.4f %8.1f" % (r, t[0] / npk, t[1] / npk, t[2] / npk, t[3] / npk, t[4] / npk))

# The router by function: addr2line's outermost inlined frame of each
# block's first instruction.
mine = [(k, c) for k, c in rows if region(k[0]) == "forwarder (ROUTER)"]
addrs = ["%#x" % file_at(k[0]) for k, _ in mine]
out = subprocess.run(["addr2line", "-f", "-C", "-i", "-a", "-e", binary] + addrs,
                     capture_output=True, text=True).stdout.splitlines()
outer, cur, i = {}, None, 0
while i < len(out):
    if out[i].startswith("0x"):
        cur = int(out[i], 16)
        i += 1
        continue
    outer[cur] = out[i]  # the last function line of a group is the outermost
    i += 2
fn = collections.defaultdict(lambda: [0, 0, 0, 0])
for (va, n, lk, sy), c in mine:
    f = fn[outer.get(file_at(va), "?")[:110]]
    f[0] += c * n
    f[1] += c * lk
    f[2] += c * sy
    f[3] += memof[(va, n, lk, sy)]
print("forwarder, by function: instructions, locked, syscalls, memops per packet")
for f, v in sorted(fn.items(), key=lambda x: -x[1][0])[:25]:
    print("  %7.1f %7.4f %7.4f %7.1f  %s" % (v[0] / npk, v[1] / npk, v[2] / npk, v[3] / npk, f))

syms = []
for line in open(kallsyms):
    f = line.split()
    syms.append((int(f[0], 16), f[2] + (f[3] if len(f) > 3 else "")))
syms.sort()
starts = [s[0] for s in syms]
kfn = collections.defaultdict(lambda: [0, 0, 0])
for (va, n, lk, sy), c in rows:
    if va >= 0xFFFF800000000000:
        j = bisect.bisect_right(starts, va) - 1
        k = kfn[syms[j][1] if j >= 0 else "?"]
        k[0] += c * n
        k[1] += c
        k[2] += memof[(va, n, lk, sy)]
print("kernel (every process), by function: instructions, blocks, memops per packet")
for f, v in sorted(kfn.items(), key=lambda x: -x[1][0])[:15]:
    print("  %7.1f %7.2f %7.1f  %s" % (v[0] / npk, v[1] / npk, v[2] / npk, f))
