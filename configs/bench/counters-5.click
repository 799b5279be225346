// a-counter with four more Counters: the cost of one more element hop.
// Run: router -h c.count configs/bench/counters-5.click N=10000000
define($N 20000000, $TS false, $BURST 32);
src :: InfiniteSource(LENGTH 64, LIMIT $N, BURST $BURST, STOP true, TIMESTAMP $TS);
src -> Counter -> Counter -> Counter -> Counter -> c :: Counter -> Discard;
