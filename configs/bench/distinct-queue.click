// (c') c-queue with distinct packets: random 64-byte packets through a
// Queue and Unqueue.
define($N 20000000, $BURST 32);
src :: RandomSource(LENGTH 64, LIMIT $N, BURST $BURST, STOP true);
src -> Queue(1024) -> Unqueue(BURST $BURST) -> c :: Counter -> Discard;
