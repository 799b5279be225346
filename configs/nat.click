// nat.click: a NAT (Click's IPRewriter) on made-up traffic. No devices,
// no privileges.
//
//   cargo run --release -- configs/nat.click
//
// Two inside hosts, 10.0.0.2 and 10.0.0.3, both send DNS queries from
// port 5000 to 203.0.113.9. The rewriter gives each flow the outside
// address 198.51.100.1 and a port of its own (1024 upward), IPMirror plays
// the server answering, and the rewriter maps each answer back to the
// host and port that asked. IPPrint shows both sides on standard error;
// -h prints the rewriter's flow table when the run ends:
//
//   cargo run --release -- -h nat.table configs/nat.click

define($QUERIES 4);

nat :: UDPRewriter(pattern 198.51.100.1 1024-65535# - - 0 1, drop);

InfiniteSource(DATA "query", LIMIT $QUERIES, STOP true)
    -> hosts :: RoundRobinSwitch;
hosts[0] -> UDPIPEncap(10.0.0.2, 5000, 203.0.113.9, 53) -> nat;
hosts[1] -> UDPIPEncap(10.0.0.3, 5000, 203.0.113.9, 53) -> nat;

nat[0] -> IPPrint(outside, TIMESTAMP false)
    -> IPMirror          // the server's answer
    -> [1]nat;
nat[1] -> IPPrint(inside, TIMESTAMP false) -> answers :: Counter -> Discard;
