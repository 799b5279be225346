// hello.click: the first config to run. No devices, no privileges.
//
//   cargo run --release -- configs/hello.click
//
// A source makes 5 packets, Print shows each on standard error, a Counter
// counts them, and the router stops when the source is done; -h prints a
// handler when the run ends:
//
//   cargo run --release -- -h count.count configs/hello.click

define($N 5);

src :: InfiniteSource(DATA "Hello, router!\n", LIMIT $N, STOP true);
src -> Print(hello) -> count :: Counter -> Discard;
