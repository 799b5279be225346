// The same two-stage path as two-threads.click on one thread: the baseline
// for the two-thread speed-up.
// Run: router -h c.count configs/bench/one-thread-two-stage.click N=10000000
define($N 20000000, $BURST 32, $CAP 1024);
src :: InfiniteSource(LENGTH 64, LIMIT $N, BURST $BURST, STOP true, TIMESTAMP false);
src -> q :: ThreadSafeQueue($CAP) -> uq :: Unqueue(BURST $BURST) -> c :: Counter -> Discard;
