// The two-stage path of two-threads.click with per-packet work in each
// stage (a Script evaluating an expression, about 0.35 us a packet), so
// that the work, not the hand-over of each packet between the cores,
// dominates: the speed-up of the ThreadSafeQueue path when stages do
// real work.
// Run: router -j 2 -h c.count configs/bench/two-threads-work.click
define($N 2000000, $BURST 32, $CAP 1024);
src :: InfiniteSource(LENGTH 64, LIMIT $N, BURST $BURST, STOP true, TIMESTAMP false);
src -> w1 :: Script(TYPE PACKET, set x $(add 1 2), return 0)
    -> q :: ThreadSafeQueue($CAP) -> uq :: Unqueue(BURST $BURST)
    -> w2 :: Script(TYPE PACKET, set x $(add 1 2), return 0)
    -> c :: Counter -> Discard;
StaticThreadSched(src 0, uq 1);
