// Two-stage path across two scheduler threads: the source and the queue's
// input side run on thread 0, the Unqueue and everything after it on
// thread 1; only the ThreadSafeQueue joins them.
// Run: router -j 2 -h c.count configs/bench/two-threads.click N=10000000
define($N 20000000, $BURST 32, $CAP 1024);
src :: InfiniteSource(LENGTH 64, LIMIT $N, BURST $BURST, STOP true, TIMESTAMP false);
src -> q :: ThreadSafeQueue($CAP) -> uq :: Unqueue(BURST $BURST) -> c :: Counter -> Discard;
StaticThreadSched(src 0, uq 1);
