// a-counter with four Paints (per-packet PacketElements) before the Counter.
// Run: router -h c.count configs/bench/paint-4.click N=10000000
define($N 20000000, $TS false, $BURST 32);
src :: InfiniteSource(LENGTH 64, LIMIT $N, BURST $BURST, STOP true, TIMESTAMP $TS);
src -> Paint(1) -> Paint(2) -> Paint(3) -> Paint(4) -> c :: Counter -> Discard;
