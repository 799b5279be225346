// (a') a-counter with distinct packets: every packet is a new buffer
// filled with random bytes, not a clone of one. The source's work (a
// buffer from the pool, 64 random bytes) is part of the figure.
define($N 20000000, $BURST 32);
src :: RandomSource(LENGTH 64, LIMIT $N, BURST $BURST, STOP true);
src -> c :: Counter -> Discard;
