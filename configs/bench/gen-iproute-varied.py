#!/usr/bin/env python3
"""Writes the traffic of iproute-varied.click: for each of the router's two
interfaces, N distinct Ethernet/IPv4/UDP frames (60 bytes), to many
destinations and flows.

usage: gen-iproute-varied.py N [DIR]
       gen-iproute-varied.py --config TEMPLATE > iproute-varied.click   (writes DIR/iproute-varied-N.pcap,
DIR defaults to /dev/shm; run it for N=1 too, mpps.py's start-up run)

Destinations: a uniformly chosen route of the configuration's table (its
routes(), a fixed seed) among those out of the other interface, a random
host inside it; from eth1, 1 in 16 to an address only the default route
covers. Sources random in 1.0.0.0/8 to 126.0.0.0/8, UDP ports random,
TTL 64, no IP options, valid IP checksum, UDP checksum 0. Consecutive
frames differ, so no lookup or flow state is served from one cached entry.
"""
import random, struct, sys

ROUTE_SEED = 12
N_ROUTES = 1000


def routes():
    """The table iproute-varied.click holds, as (prefix, length, port)."""
    r = random.Random(ROUTE_SEED)
    out = []
    for _ in range(N_ROUTES):
        plen = r.choice([16, 20, 22, 23, 24, 24, 24, 24])
        net = r.randrange(128, 224) << 24 | r.getrandbits(24)
        net &= (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
        out.append((net, plen, r.randrange(2)))
    return out


def ip(a):
    return ".".join(str(a >> s & 255) for s in (24, 16, 8, 0))


def table_text():
    lines = ["18.26.4.24/32 0", "18.26.7.1/32 0", "18.26.4.0/24 1", "18.26.7.0/24 2"]
    for net, plen, port in routes():
        gw = "18.26.4.1" if port == 0 else "18.26.7.2"
        lines.append(f"{ip(net)}/{plen} {gw} {port + 1}")
    lines.append("0.0.0.0/0 18.26.4.1 1")
    return ",\n    ".join(lines)


def cksum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    if sys.argv[1:2] == ["--config"]:
        # iproute-varied.click is this template with the table filled in.
        tmpl = open(sys.argv[2]).read()
        sys.stdout.write(tmpl.replace("@ROUTES@", table_text()))
        return
    n = int(sys.argv[1])
    d = sys.argv[2] if len(sys.argv) > 2 else "/dev/shm"
    rt = routes()
    # Each interface's trace: N frames for it (its Ethernet address as
    # destination), each to a route out of the other interface (so no
    # ICMP redirect) or, 1 in 16 from eth1, to an address only the
    # default route covers.
    for iface, mac, port_out in (("eth0", "0000c0ae67ef", 1), ("eth1", "0000c04f71ef", 0)):
        mine = [r for r in rt if r[2] == port_out]
        rnd = random.Random(n * 2 + port_out)
        eth = bytes.fromhex(mac + "00000c0d0e0f" "0800")
        out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            if port_out == 0 and rnd.randrange(16) == 0:
                dst = 100 << 24 | rnd.getrandbits(24)
            else:
                net, plen, _ = mine[rnd.randrange(len(mine))]
                dst = net | rnd.getrandbits(32 - plen) | 1
            src = rnd.randrange(1, 127) << 24 | rnd.getrandbits(24)
            hdr = struct.pack("!BBHHHBBHII", 0x45, 0, 46, i & 0xFFFF, 0, 64, 17, 0, src, dst)
            hdr = hdr[:10] + struct.pack("!H", cksum(hdr)) + hdr[12:]
            udp = struct.pack("!HHHH", rnd.randrange(1024, 65536), rnd.randrange(1, 1024), 26, 0)
            frame = eth + hdr + udp + bytes(18)
            out += struct.pack("<IIII", i // 1000000, i % 1000000, len(frame), len(frame))
            out += frame
        path = f"{d}/iproute-varied-{iface}-{n}.pcap"
        with open(path, "wb") as f:
            f.write(out)
        print(path)


if __name__ == "__main__":
    main()
