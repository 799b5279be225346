// The custom elements' demonstration: 200,000 packets of two sizes, split
// by length, one branch re-marked EF (DSCP 46), metered every 10 ms.
//   cargo run -p custom-element-example -- examples/custom-element/demo.click \
//       -h lf.passed -h lf.rejected -h big.count -h big.intervals -h small.count
lf :: LengthFilter(64, 1500);
src :: InfiniteSource(LENGTH 100, LIMIT 100000, BURST 32, STOP true)
    -> t :: Tee(2);
t[0] -> Strip(60) -> lf;        // 40-byte packets
t[1] -> lf;                     // 100-byte packets
lf[0] -> SetDSCP(46) -> big :: RateMeter(10ms) -> Discard;
lf[1] -> small :: Counter -> Discard;
