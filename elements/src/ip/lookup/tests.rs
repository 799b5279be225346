//! The route table against a plain longest-prefix match, on random
//! tables, changes and addresses; lookups on one thread while another
//! changes the table; no panic on any text.

use super::core::ctrl;
use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// The obvious longest-prefix match: a map from prefixes to routes.
#[derive(Default, Debug)]
struct Model {
    routes: BTreeMap<(u32, u8), Route>,
}

impl Model {
    fn lookup(&self, addr: u32) -> NextHop {
        (0..=32u8)
            .rev()
            .find_map(|len| self.routes.get(&(addr & prefix_mask(len), len)))
            .map_or(NextHop::NONE, |r| NextHop::new(r.gw, r.port as u32))
    }

    fn add(&mut self, r: &Route, set: bool) -> Result<Option<Route>, TableError> {
        let old = self.routes.get(&(r.addr, r.len)).copied();
        if old.is_some() && !set {
            return Err(TableError::Exists(old.unwrap_or(*r)));
        }
        self.routes.insert((r.addr, r.len), *r);
        Ok(old)
    }

    fn remove(&mut self, request: &Route) -> Result<Route, TableError> {
        match self.routes.get(&(request.addr, request.len)) {
            Some(found) if request.matches(found) => {
                let found = *found;
                self.routes.remove(&(request.addr, request.len));
                Ok(found)
            }
            _ => Err(TableError::NotFound),
        }
    }

    /// /24s holding a prefix longer than /24: each needs one tbl8 group.
    fn groups(&self) -> usize {
        let mut s: Vec<u32> = self
            .routes
            .keys()
            .filter(|&&(_, l)| l > 24)
            .map(|&(a, _)| a >> 8)
            .collect();
        s.dedup();
        s.len()
    }
}

fn small_table(order: Order) -> RouteTable {
    RouteTable::new(TableOptions {
        order,
        fib: FibOptions {
            max_groups: 1 << 12,
            huge_pages: false,
        },
    })
    .unwrap()
}

/// Prefixes clustered near a few addresses, so that they nest and
/// overlap; lengths of every kind, short ones rare and not too short (a
/// /5 is 2^19 entries to write, a /1 would be 2^23: debug builds are
/// slow). The default route costs nothing.
fn prefix() -> impl Strategy<Value = (u32, u8)> {
    const BASES: [u32; 4] = [0x0a00_0000, 0x0a01_0000, 0xc0a8_0000, 0x7fff_ff00];
    let addr = prop_oneof![
        4 => (0usize..4, any::<u32>()).prop_map(|(b, r)| BASES[b] ^ (r & 0x0003_ffff)),
        1 => any::<u32>(),
    ];
    let len = prop_oneof![
        1 => Just(0u8),
        1 => 5u8..8,
        6 => 8u8..=24,
        2 => Just(24u8),
        6 => 25u8..=32,
    ];
    (addr, len)
}

fn route() -> impl Strategy<Value = Route> {
    (prefix(), 0u32..3, 0i32..4)
        .prop_map(|((a, l), g, p)| Route::new(a, l, [0, 0x0101_0101, 0x0202_0202][g as usize], p))
}

#[derive(Clone, Debug)]
enum Op {
    Add(Route, bool),
    /// Remove the n-th route (or a random one if there are none), naming
    /// its output (0), no output (1), or a wrong one (2).
    Remove(usize, u8, Route),
    Flush,
    /// Readers have moved on: reuse what was retired.
    Reuse,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (route(), any::<bool>()).prop_map(|(r, s)| Op::Add(r, s)),
        5 => (any::<usize>(), 0u8..3, route()).prop_map(|(i, m, r)| Op::Remove(i, m, r)),
        1 => Just(Op::Flush),
        3 => Just(Op::Reuse),
    ]
}

/// Addresses worth asking about: the edges of every route and their
/// neighbours, and some random ones.
fn probes(model: &Model, random: &[u32]) -> Vec<u32> {
    let mut v = random.to_vec();
    for r in model.routes.values() {
        let last = r.addr | !prefix_mask(r.len);
        v.extend([r.addr, last, r.addr.wrapping_sub(1), last.wrapping_add(1)]);
        v.push(r.addr | (last.wrapping_sub(r.addr) / 2));
    }
    v
}

fn check(table: &RouteTable, model: &Model, random: &[u32]) -> Result<(), TestCaseError> {
    // Where there is no route, only the port matters (DirectIPLookup's
    // order keeps a removed default route's gateway, as Click's does).
    let routed = |h: NextHop| (h.port(), h.port().map(|_| h.gateway()));
    for a in probes(model, random) {
        prop_assert_eq!(
            routed(table.lookup(a)),
            routed(model.lookup(a)),
            "address {:08x}",
            a
        );
    }
    // The batched lookup gives the same answers.
    let addrs: Vec<u32> = probes(model, random).into_iter().take(32).collect();
    let mut out = vec![NextHop::NONE; addrs.len()];
    table.fib().lookup_batch(&addrs, &mut out);
    for (a, h) in addrs.iter().zip(&out) {
        prop_assert_eq!(routed(*h), routed(model.lookup(*a)));
    }
    prop_assert_eq!(table.len(), model.routes.len());
    prop_assert_eq!(table.groups_in_use() as usize, model.groups());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn table_matches_a_plain_longest_prefix_match(
        ops in proptest::collection::vec(op(), 1..40),
        random in proptest::collection::vec(any::<u32>(), 16),
        order in prop_oneof![Just(Order::Linear), Just(Order::Radix), Just(Order::Direct)],
    ) {
        let mut table = small_table(order);
        let mut model = Model::default();
        for op in &ops {
            match op {
                Op::Add(r, set) => {
                    prop_assert_eq!(table.add(r, *set), model.add(r, *set));
                }
                Op::Remove(i, mode, fallback) => {
                    let mut req = match model.routes.values().nth(i % model.routes.len().max(1)) {
                        Some(r) => *r,
                        None => *fallback,
                    };
                    match mode {
                        1 => req.port = -1,
                        2 => req.port += 1,
                        _ => {}
                    }
                    prop_assert_eq!(table.remove(&req), model.remove(&req));
                }
                Op::Flush => {
                    table.flush();
                    model.routes.clear();
                }
                Op::Reuse => {
                    let retired = table.take_retired();
                    table.reuse(retired);
                }
            }
            check(&table, &model, &random[..4])?;
        }
        check(&table, &model, &random)?;
        // Every route is listed once, whatever the order.
        let mut listed = table.routes();
        listed.sort_by_key(|r| (r.addr, r.len));
        let expected: Vec<Route> = model.routes.values().copied().collect();
        prop_assert_eq!(listed, expected);
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn a_failed_ctrl_leaves_the_table_as_it_was(
        before in proptest::collection::vec(route(), 0..10),
        lines in proptest::collection::vec((0u8..3, route()), 1..10),
        bad_at in any::<usize>(),
    ) {
        let mut table = small_table(Order::Radix);
        for r in &before {
            let _ = table.add(r, false);
        }
        let snapshot = table.dump();
        let mut text: Vec<String> = lines
            .iter()
            .map(|(c, r)| format!("{} {}", ["add", "set", "remove"][*c as usize], r))
            .collect();
        text.insert(bad_at % (text.len() + 1), "bogus 1.2.3.4/32 0".into());
        let r = ctrl(&mut table, &text.join("\n"), 4, &click_engine::args::NoContext);
        prop_assert!(r.is_err());
        prop_assert_eq!(table.dump(), snapshot);
    }

    #[test]
    fn no_text_makes_the_handlers_panic(text in ".{0,60}", noutputs in 0usize..4) {
        let mut table = small_table(Order::Linear);
        let _ = Route::parse(&text, false);
        let _ = Route::parse(&text, true);
        let _ = ctrl(&mut table, &text, noutputs, &click_engine::args::NoContext);
        let _ = ctrl(
            &mut table,
            &format!("add {text}\nremove {text}"),
            noutputs,
            &click_engine::args::NoContext,
        );
        let _ = ctrl(&mut table, &format!("set {text}"), noutputs, &click_engine::args::NoContext);
    }
}

/// One thread looks up addresses while another adds and removes longer
/// prefixes in many /24s (so tbl8 groups and hop slots are retired and
/// reused all the time): every answer must be one the table could give
/// at some moment, never another /24's gateway through a group or hop
/// slot reused too early.
#[test]
fn lookups_during_changes_see_old_or_new_answers() {
    use std::sync::mpsc;
    use std::sync::Arc;
    const NETS: u32 = 32;
    let mut table = small_table(Order::Radix);
    table
        .add(&Route::new(0x0a00_0000, 16, 0, 0), false)
        .unwrap();
    let shared = Arc::new(SharedTable::new(table, 2));
    let (tx, rx) = mpsc::channel::<Option<(String, String)>>();
    let reader = {
        let shared = shared.clone();
        std::thread::spawn(move || {
            let mut looked = 0u64;
            loop {
                for i in 0..NETS {
                    let a = 0x0a00_0000 | (i << 8) | 200;
                    let h = shared.fib().lookup(a);
                    let ok = h == NextHop::new(0, 0)
                        || h == NextHop::new(0x0b00_0000 | i, 1)
                        || h == NextHop::new(0x0c00_0000 | i, 2);
                    assert!(ok, "10.0.{i}.200 -> {:?} {:08x}", h.port(), h.gateway());
                    looked += 1;
                }
                // Between bursts, take the writes (the quiescent point).
                for w in rx.try_iter() {
                    match w {
                        Some((h, v)) => {
                            let _ = shared.write(1, &h, &v, |_| panic!("applied twice"));
                        }
                        None => return looked,
                    }
                }
            }
        })
    };
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..20_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let i = (seed % u64::from(NETS)) as u32;
        let kind = (seed >> 8) % 3;
        let net = format!("10.0.{i}.128/25");
        let (h, v) = match kind {
            0 => ("set", format!("{net} 11.0.0.{i} 1")),
            1 => ("set", format!("{net} 12.0.0.{i} 2")),
            _ => ("remove", net),
        };
        let apply = |t: &mut RouteTable| {
            let r = Route::parse(&v, h == "remove").map_err(|e| format!("{e:?}"))?;
            if h == "remove" {
                t.remove(&r).map(drop).map_err(|e| format!("{e:?}"))
            } else {
                t.add(&r, true).map(drop).map_err(|e| format!("{e:?}"))
            }
        };
        let _ = shared.write(0, h, &v, apply);
        tx.send(Some((h.to_string(), v))).unwrap();
        while shared.pending() > 64 {
            std::thread::yield_now();
        }
    }
    tx.send(None).unwrap();
    let looked = reader.join().expect("the reader saw a wrong answer");
    assert!(looked > 0);
    assert_eq!(shared.pending(), 0);
}

mod elements {
    use super::super::{DirectIPLookup, LinearIPLookup, RadixIPLookup, StaticIPLookup};
    use click_engine::args::Args;
    use click_engine::packet::{Batch, Packet};
    use click_engine::{ConfigureCtx, Element, ElementClass, Harness, Processing};
    use std::net::Ipv4Addr;

    const PUSH3: &[Processing] = &[Processing::Push, Processing::Push, Processing::Push];

    fn configure<E: ElementClass>(config: &str) -> Result<E, String> {
        let ctx = ConfigureCtx {
            name: "r",
            inputs: &PUSH3[..1],
            outputs: PUSH3,
        };
        E::configure(&mut Args::new(config), &ctx)
    }

    fn batch(dsts: &[&str]) -> Batch {
        let mut b = Batch::new();
        for d in dsts {
            let mut p = Packet::from_slice(&[0; 20]).unwrap();
            p.anno_mut().set_dst_ip(d.parse().unwrap());
            b.push(p);
        }
        b
    }

    fn dsts(ps: &[Packet]) -> Vec<Ipv4Addr> {
        ps.iter().map(|p| p.anno().dst_ip()).collect()
    }

    #[test]
    fn packets_go_to_their_routes_output_with_the_gateway_annotation() {
        let mut r: RadixIPLookup =
            configure("10.0.0.0/8 0, 10.1.0.0/16 10.1.0.1 1, 10.1.2.128/25 10.1.2.1 2").unwrap();
        let mut h = Harness::new("r");
        let b = batch(&["10.9.9.9", "10.1.5.5", "10.1.2.200", "11.0.0.1", "10.1.2.1"]);
        h.with(|ctx| r.push(0, b, ctx));
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(dsts(&h.take_output(0)), [ip("10.9.9.9")]);
        assert_eq!(dsts(&h.take_output(1)), [ip("10.1.0.1"), ip("10.1.0.1")]);
        assert_eq!(dsts(&h.take_output(2)), [ip("10.1.2.1")]);
        assert_eq!(h.drops(), 1, "11.0.0.1 has no route");
    }

    #[test]
    fn a_batch_with_one_output_goes_whole_and_one_with_none_is_dropped() {
        let mut r: DirectIPLookup = configure("0/0 2").unwrap();
        let mut h = Harness::new("r");
        h.with(|ctx| r.push(0, batch(&["1.1.1.1"; 32]), ctx));
        assert_eq!(h.take_output(2).len(), 32);
        let mut r: DirectIPLookup = configure("1.0.0.0/8 0").unwrap();
        h.with(|ctx| r.push(0, batch(&["2.1.1.1"; 7]), ctx));
        assert_eq!(h.drops(), 7);
    }

    #[test]
    fn handlers_change_what_packets_meet() {
        let mut r: LinearIPLookup = configure("").unwrap();
        let mut h = Harness::new("r");
        h.with(|ctx| r.write_handler("add", "10.0.0.0/8 1", ctx))
            .unwrap();
        assert_eq!(r.read_handler("lookup 10.2.3.4").as_deref(), Some("1"));
        let e = h.with(|ctx| r.write_handler("add", "10.0.0.0/8 2", ctx));
        assert_eq!(
            e.unwrap_err(),
            "conflict with existing route '10.0.0.0/8 - 1'"
        );
        h.with(|ctx| r.write_handler("set", "10.0.0.0/8 9.9.9.9 2", ctx))
            .unwrap();
        h.with(|ctx| r.push(0, batch(&["10.2.3.4"]), ctx));
        assert_eq!(
            dsts(&h.take_output(2)),
            ["9.9.9.9".parse::<Ipv4Addr>().unwrap()]
        );
        assert!(
            h.with(|ctx| r.write_handler("flush", "", ctx)).is_err(),
            "Linear has no flush"
        );
        assert_eq!(
            r.read_handler("table").as_deref(),
            Some("10.0.0.0/8\t\t9.9.9.9\t\t2\n")
        );
        assert_eq!(r.read_handler("lookup nonsense"), None);
    }

    #[test]
    fn configuration_errors_name_the_argument() {
        let e = configure::<StaticIPLookup>(
            "10.0.0.0/8 0, 10/16 1, 1.0.0.0/8 3, 2.0.0.0/255.0.255.0 0",
        )
        .unwrap_err();
        assert_eq!(
            e,
            "argument 2 should be 'ADDR/MASK [GATEWAY] OUTPUT'\nargument 3 bad OUTPUT\n\
             argument 4: MASK must be a prefix (contiguous ones)"
        );
        let mut s: StaticIPLookup = configure("1.0.0.0/8 0, 1.0.0.0/8 1").unwrap();
        let mut h = Harness::new("r");
        assert!(h
            .with(|ctx| s.write_handler("add", "2.0.0.0/8 0", ctx))
            .is_err());
        assert_eq!(
            s.read_handler("lookup 1.1.1.1").as_deref(),
            Some("0"),
            "the first wins"
        );
    }
}
