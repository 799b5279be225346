// NAT on established flows: four UDP flows (two hosts, two source ports
// each) through UDPRewriter, which maps each to 1.0.0.1 and a port of its
// own; every packet after a flow's first is a table look-up, address and
// port writes, and incremental IP and UDP checksum updates. The same text
// runs on Click, FastClick and router (`../shared/bench/mpps.py`,
// docs/PERFORMANCE.md "NAT"). The packets are distinct as in
// distinct-counter.click: UDPIPEncap puts fresh headers (IP ID counting,
// UDP checksum computed) on each clone of InfiniteSource's 64 bytes.
// nat-udp-null.click is the same path with Null for the rewriter: the
// difference is the rewriter's own cost.
define($N 20000000, $TS false, $BURST 32);
rw :: UDPRewriter(pattern 1.0.0.1 1024-65535# - - 0 0);
src :: InfiniteSource(LENGTH 64, LIMIT $N, BURST $BURST, STOP true, TIMESTAMP $TS);
src -> sw :: RoundRobinSwitch;
sw[0] -> UDPIPEncap(10.0.0.1, 1001, 10.0.0.2, 53) -> rw;
sw[1] -> UDPIPEncap(10.0.0.1, 1002, 10.0.0.2, 53) -> rw;
sw[2] -> UDPIPEncap(10.0.0.3, 1001, 10.0.0.2, 53) -> rw;
sw[3] -> UDPIPEncap(10.0.0.3, 1002, 10.0.0.2, 53) -> rw;
rw -> c :: Counter -> Discard;
