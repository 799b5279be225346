//! Route lookup speed and memory: `cargo bench -p click-elements --bench
//! route_lookup` (release build; run it pinned, `taskset -c 1`, on a quiet
//! machine).
//!
//! Tables of 10, 10,000 and 1,000,000 random routes with an Internet-like
//! mix of prefix lengths (most /24, then /22-/23, /16-/21, few shorter or
//! longer than /24; 64 next hops; a default route), looked up with
//! uniformly random destinations and with skewed ones (a Zipf law over
//! the routes: a few routes take most of the traffic). Lookups one at a
//! time, and batched 32 at a time as the elements do. Figures are the
//! best of 5 runs of 2^24 lookups each, in million lookups per second of
//! the thread's CPU time (`/proc/thread-self/schedstat`) and of wall time.
//! Memory is the growth of the process's resident set while the table is
//! built (the forwarding table and the route table's maps).
//!
//! `-- --sizes 10,10000` picks the table sizes; `-- --config FILE ROUTES
//! [CLASS [PORTS]]` writes, instead, a Click configuration with ROUTES
//! such routes in a CLASS (RadixIPLookup) with PORTS outputs (8), fed by
//! `SetRandIPAddress(0.0.0.0/0)`, for `router` and Click alike
//! (docs/PERFORMANCE.md, "Route lookup").

use click_elements::lookup::{FibOptions, NextHop, Order, Route, RouteTable, TableOptions};
use std::hint::black_box;
use std::time::Instant;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Prefix lengths and their share, in thousandths: roughly an IPv4 BGP
/// table of the 2020s (about 60% /24; /22 and /23 next; a few longer
/// than /24, which full tables filter but edge tables keep).
const LENGTHS: &[(u8, u32)] = &[
    (8, 1),
    (10, 1),
    (12, 1),
    (14, 1),
    (15, 1),
    (16, 13),
    (17, 8),
    (18, 13),
    (19, 26),
    (20, 42),
    (21, 49),
    (22, 105),
    (23, 101),
    (24, 628),
    (25, 3),
    (26, 3),
    (27, 1),
    (28, 1),
    (29, 1),
    (30, 1),
    (32, 1),
];

fn random_len(rng: &mut Rng) -> u8 {
    let total: u32 = LENGTHS.iter().map(|&(_, w)| w).sum();
    let mut x = rng.below(u64::from(total)) as u32;
    for &(len, w) in LENGTHS {
        if x < w {
            return len;
        }
        x -= w;
    }
    24
}

/// `n` distinct random routes in unicast space (1.0.0.0 to
/// 223.255.255.255) with the mix above, to 64 next hops (8 ports), plus
/// a default route.
fn random_routes(n: usize, seed: u64) -> Vec<Route> {
    let mut rng = Rng(seed);
    let mut seen = std::collections::HashSet::new();
    let mut routes = vec![Route::new(0, 0, 0x0a00_0001, 0)];
    while routes.len() < n + 1 {
        let len = random_len(&mut rng);
        let addr = 0x0100_0000 + rng.below(0xdf00_0000) as u32;
        // 64 (gateway, port) pairs: Click's RadixIPLookup holds at most 255.
        let hop = rng.below(64) as u32;
        let r = Route::new(addr, len, 0x0a00_0001 + hop, (hop % 8) as i32);
        if seen.insert((r.addr, r.len)) {
            routes.push(r);
        }
    }
    routes
}

/// Uniformly random destinations.
fn uniform(count: usize, rng: &mut Rng) -> Vec<u32> {
    (0..count).map(|_| rng.next() as u32).collect()
}

/// Destinations inside the routes, chosen by a Zipf law (exponent 1) over
/// a random order of the routes: the busiest route gets 1/H(n) of the
/// traffic, the k-th 1/(k H(n)).
fn skewed(routes: &[Route], count: usize, rng: &mut Rng) -> Vec<u32> {
    let n = routes.len();
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut cdf = Vec::with_capacity(n);
    let mut sum = 0.0;
    for k in 1..=n {
        sum += 1.0 / k as f64;
        cdf.push(sum);
    }
    (0..count)
        .map(|_| {
            let x = rng.unit() * sum;
            let k = cdf.partition_point(|&c| c < x).min(n - 1);
            let r = routes[order[k]];
            let host = !click_elements::lookup::prefix_mask(r.len);
            r.addr | (rng.next() as u32 & host)
        })
        .collect()
}

/// Nanoseconds this thread has run on a CPU.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Resident set size of the process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Bytes of the process's memory in transparent huge pages.
fn huge() -> u64 {
    let s = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("AnonHugePages:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// Runs `f` (which does `lookups` lookups) 5 times; the best rates, in
/// million lookups per second of CPU time and of wall time.
fn rate(lookups: usize, mut f: impl FnMut() -> u64) -> (f64, f64) {
    black_box(f());
    let (mut cpu, mut wall) = (0f64, 0f64);
    for _ in 0..5 {
        let (c0, t0) = (cpu_ns(), Instant::now());
        black_box(f());
        let dt = t0.elapsed().as_secs_f64();
        let dc = (cpu_ns() - c0) as f64 / 1e9;
        wall = wall.max(lookups as f64 / dt / 1e6);
        if dc > 0.0 {
            cpu = cpu.max(lookups as f64 / dc / 1e6);
        }
    }
    (cpu, wall)
}

const LOOKUPS: usize = 1 << 24;
const DESTS: usize = 1 << 20;

fn bench_table(n: usize) {
    let routes = random_routes(n, 0x5eed + n as u64);
    let (before, huge_before) = (rss(), huge());
    let t0 = Instant::now();
    let mut table = RouteTable::new(TableOptions {
        order: Order::Radix,
        fib: FibOptions::default(),
    })
    .expect("table");
    for r in &routes {
        table.add(r, false).expect("add");
    }
    let build = t0.elapsed();
    let mem = rss().saturating_sub(before);
    let in_huge = huge().saturating_sub(huge_before);
    println!(
        "\n{n} routes (+ default): built in {:.3} s ({:.2} M adds/s), {} tbl8 groups, \
         {:.2} MiB resident ({:.0} MiB of it in huge pages)",
        build.as_secs_f64(),
        routes.len() as f64 / build.as_secs_f64() / 1e6,
        table.groups_in_use(),
        mem as f64 / (1 << 20) as f64,
        in_huge as f64 / (1 << 20) as f64
    );
    let fib = table.fib().clone();
    let mut rng = Rng(42);
    let sets = [
        ("random", uniform(DESTS, &mut rng)),
        ("skewed", skewed(&routes, DESTS, &mut rng)),
    ];
    for (name, dests) in &sets {
        let one = rate(LOOKUPS, || {
            let mut acc = 0u64;
            for _ in 0..LOOKUPS / DESTS {
                for &a in dests {
                    acc = acc.wrapping_add(fib.lookup(a).port().unwrap_or(0) as u64);
                }
            }
            acc
        });
        let batched = rate(LOOKUPS, || {
            let mut acc = 0u64;
            let mut out = [NextHop::NONE; 32];
            for _ in 0..LOOKUPS / DESTS {
                for chunk in dests.chunks_exact(32) {
                    fib.lookup_batch(chunk, &mut out);
                    acc = acc.wrapping_add(
                        out.iter()
                            .map(|h| h.port().unwrap_or(0) as u64)
                            .sum::<u64>(),
                    );
                }
            }
            acc
        });
        println!(
            "  {name:6} destinations: one at a time {:6.1} M/s cpu ({:6.1} wall); batched by 32 {:6.1} M/s cpu ({:6.1} wall)",
            one.0, one.1, batched.0, batched.1
        );
    }
    if n >= 10_000 {
        // Update speed on the full table: remove and re-add 10% of it.
        let some: Vec<&Route> = routes.iter().skip(1).step_by(10).collect();
        let t0 = Instant::now();
        for r in &some {
            table.remove(r).expect("remove");
        }
        let rm = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        for r in &some {
            table.add(r, false).expect("add");
        }
        let add = t0.elapsed().as_secs_f64();
        let retired = table.take_retired();
        table.reuse(retired);
        println!(
            "  updates: {:.2} M removes/s, {:.2} M adds/s ({} of each)",
            some.len() as f64 / rm / 1e6,
            some.len() as f64 / add / 1e6,
            some.len()
        );
    }
}

/// A Click configuration: `ROUTES` random routes in a `CLASS` fed by
/// SetRandIPAddress; every output goes to Counter `c`. With `ports` 1,
/// every route goes to output 0 (through its own gateway, so the lookup
/// still has 64 answers): the batch then leaves whole, and the figure is
/// the lookup's; with 8, consecutive packets rarely share an output, and
/// the batch leaves in runs of about one packet (order kept, as Click's).
fn write_config(path: &str, n: usize, class: &str, ports: i32) {
    let mut routes = random_routes(n, 0x5eed + n as u64);
    for r in &mut routes {
        r.port %= ports.max(1);
    }
    let mut s = String::from(
        "// Route lookup benchmark: InfiniteSource -> SetRandIPAddress -> lookup -> Counter.\n\
         // Made by `cargo bench -p click-elements --bench route_lookup -- --config`.\n\
         define($N 20000000, $BURST 32);\n\
         src :: InfiniteSource(LIMIT $N, BURST $BURST, STOP true, TIMESTAMP false);\n",
    );
    s.push_str(&format!("rt :: {class}(\n"));
    for (i, r) in routes.iter().enumerate() {
        let sep = if i + 1 == routes.len() { "" } else { "," };
        s.push_str(&format!(
            "  {} {} {}{sep}\n",
            r.prefix(),
            std::net::Ipv4Addr::from(r.gw),
            r.port
        ));
    }
    s.push_str(");\nsrc -> SetRandIPAddress(0.0.0.0/0) -> rt;\nc :: Counter -> Discard;\n");
    for p in 0..ports.max(1) {
        s.push_str(&format!("rt[{p}] -> c;\n"));
    }
    std::fs::write(path, s).expect("write config");
    println!("wrote {path}: {class} with {n} routes + default, {ports} outputs");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--config") {
        let path = args
            .get(i + 1)
            .expect("--config FILE ROUTES [CLASS [PORTS]]");
        let n = args
            .get(i + 2)
            .and_then(|s| s.parse().ok())
            .expect("ROUTES");
        let class = args.get(i + 3).map_or("RadixIPLookup", String::as_str);
        let ports = args.get(i + 4).and_then(|s| s.parse().ok()).unwrap_or(8);
        return write_config(path, n, class, ports);
    }
    let sizes: Vec<usize> = args
        .iter()
        .position(|a| a == "--sizes")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 10_000, 1_000_000]);
    println!("route lookup: best of 5 runs of {LOOKUPS} lookups");
    for n in sizes {
        bench_table(n);
    }
}
