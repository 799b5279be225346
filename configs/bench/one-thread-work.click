// two-threads-work.click on one thread: its baseline.
// Run: router -h c.count configs/bench/one-thread-work.click
define($N 2000000, $BURST 32, $CAP 1024);
src :: InfiniteSource(LENGTH 64, LIMIT $N, BURST $BURST, STOP true, TIMESTAMP false);
src -> w1 :: Script(TYPE PACKET, set x $(add 1 2), return 0)
    -> q :: ThreadSafeQueue($CAP) -> uq :: Unqueue(BURST $BURST)
    -> w2 :: Script(TYPE PACKET, set x $(add 1 2), return 0)
    -> c :: Counter -> Discard;
