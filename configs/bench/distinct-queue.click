// (c') c-queue with distinct packets: each packet is its own buffer with
// its own bytes (UDPIPEncap on InfiniteSource's clones copies each and
// numbers it), through Queue and Unqueue, and Classifier(0/45, -) reads
// the first byte of each after the queue. Why this and not RandomSource:
// see distinct-counter.click (FastClick's RandomSource hangs in
// initialize). The same text runs on Click, FastClick and router.
define($N 20000000, $TS false, $BURST 32, $UBURST 32, $CAP 1024);
src :: InfiniteSource(LENGTH 64, LIMIT $N, BURST $BURST, STOP true, TIMESTAMP $TS);
src -> UDPIPEncap(10.0.0.1, 1234, 10.0.0.2, 5678, CHECKSUM false) -> q :: Queue($CAP) -> uq :: Unqueue(BURST $UBURST)
    -> cl :: Classifier(0/45, -);
cl[0] -> c :: Counter -> Discard;
cl[1] -> Discard;
