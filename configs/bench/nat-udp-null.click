// nat-udp.click with Null where the rewriter was: the path it measures
// less the rewriter (see nat-udp.click).
define($N 20000000, $TS false, $BURST 32);
rw :: Null;
src :: InfiniteSource(LENGTH 64, LIMIT $N, BURST $BURST, STOP true, TIMESTAMP $TS);
src -> sw :: RoundRobinSwitch;
sw[0] -> UDPIPEncap(10.0.0.1, 1001, 10.0.0.2, 53) -> rw;
sw[1] -> UDPIPEncap(10.0.0.1, 1002, 10.0.0.2, 53) -> rw;
sw[2] -> UDPIPEncap(10.0.0.3, 1001, 10.0.0.2, 53) -> rw;
sw[3] -> UDPIPEncap(10.0.0.3, 1002, 10.0.0.2, 53) -> rw;
rw -> c :: Counter -> Discard;
