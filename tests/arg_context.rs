//! Arguments that see the router: AddressInfo names and element references
//! resolved from inside an element's compound, through the engine's API.
//!
//! Click's tests `ip/AddressInfo-bcast-01`, `ip/iplookups-02` and
//! `ethernet/ARPResponder-01` use AddressInfo names in LinearIPLookup,
//! RadixIPLookup and ARPResponder (the last not in this router yet).
//! Here small stand-ins under those names parse their arguments as Click's
//! do, with the library's address types, so the names are checked to
//! resolve to what Click's expected output shows, whatever the elements
//! do. (The library's route lookups pass the first two files themselves.)

mod common;

use std::net::Ipv4Addr;

use click_engine::args::{split_words, Args, ElementRef, EtherAddr, Ipv4Prefix};
use click_engine::{ConfigureCtx, Element, ElementClass, Handler, Registry, Router, RunOptions};
use common::router_outcome;

/// Click's IP route tables' configuration (`ADDR/MASK [GW] OUT`, ...) and
/// `table` handler, for LinearIPLookup and RadixIPLookup stand-ins.
struct RouteTable {
    routes: Vec<(Ipv4Prefix, Option<Ipv4Addr>, usize)>,
}

impl RouteTable {
    fn parse(args: &mut Args) -> Result<Self, String> {
        let mut routes = Vec::new();
        for arg in args.rest() {
            let words = split_words(&arg);
            let (prefix, gw, port) = match &words[..] {
                [p, port] => (p, None, port),
                [p, gw, port] => (p, Some(gw), port),
                _ => return Err(format!("bad route '{arg}'")),
            };
            let mut prefix: Ipv4Prefix = args.parse(prefix)?;
            prefix.addr = prefix.network();
            let gw = gw.map(|g| args.parse::<Ipv4Addr>(g)).transpose()?;
            routes.push((prefix, gw, args.parse(port)?));
        }
        Ok(RouteTable { routes })
    }

    fn table(&self) -> String {
        self.routes
            .iter()
            .map(|(p, gw, port)| {
                let gw = gw.map_or("-".to_string(), |g| g.to_string());
                format!("{p}\t{gw}\t{port}\n")
            })
            .collect()
    }
}

macro_rules! lookup_stand_in {
    ($name:ident) => {
        struct $name(RouteTable);

        impl ElementClass for $name {
            const CLASS: &'static str = stringify!($name);
            const PORT_COUNT: &'static str = "1/-";
            const PROCESSING: &'static str = click_engine::PUSH;

            fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
                RouteTable::parse(args).map($name)
            }
        }

        impl Element for $name {
            fn handlers(&self) -> &'static [Handler] {
                const HANDLERS: &[Handler] = &[Handler::read("table")];
                HANDLERS
            }

            fn read_handler(&self, name: &str) -> Option<String> {
                (name == "table").then(|| self.0.table())
            }
        }
    };
}

lookup_stand_in!(LinearIPLookup);
lookup_stand_in!(RadixIPLookup);

/// ARPResponder's configuration (`IP/MASK... ETH`, Click's
/// `ARPResponder::add`) and `table` handler.
struct ARPResponder {
    entries: Vec<(Ipv4Prefix, EtherAddr)>,
}

impl ElementClass for ARPResponder {
    const CLASS: &'static str = "ARPResponder";
    const PORT_COUNT: &'static str = "1/1-2";
    const PROCESSING: &'static str = click_engine::AGNOSTIC;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        let mut entries = Vec::new();
        for arg in args.rest() {
            let words = split_words(&arg);
            let (mut prefixes, mut eth) = (Vec::new(), None);
            for w in &words {
                if let Ok(mut p) = args.parse::<Ipv4Prefix>(w) {
                    p.addr = p.network();
                    prefixes.push(p);
                } else if let Ok(e) = args.parse::<EtherAddr>(w) {
                    if eth.replace(e).is_some() {
                        return Err("more than one ETH".into());
                    }
                } else {
                    return Err("expected IP/MASK ETH".into());
                }
            }
            // A word may be both an address and an Ethernet address.
            eth = eth.or_else(|| words.iter().find_map(|w| args.parse::<EtherAddr>(w).ok()));
            let eth = eth.ok_or("missing ETH")?;
            entries.extend(prefixes.into_iter().map(|p| (p, eth)));
        }
        Ok(ARPResponder { entries })
    }
}

impl Element for ARPResponder {
    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("table")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        (name == "table").then(|| {
            self.entries
                .iter()
                .map(|(p, e)| format!("{p} {e}\n"))
                .collect()
        })
    }
}

/// An element with an element-reference argument (Click's ElementArg).
struct Pointer {
    target: ElementRef,
}

impl ElementClass for Pointer {
    const CLASS: &'static str = "Pointer";
    const PORT_COUNT: &'static str = "0/0";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(Pointer {
            target: args.read_mp("ELEMENT")?,
        })
    }
}

impl Element for Pointer {
    fn handlers(&self) -> &'static [Handler] {
        const HANDLERS: &[Handler] = &[Handler::read("target")];
        HANDLERS
    }

    fn read_handler(&self, name: &str) -> Option<String> {
        let t = &self.target;
        (name == "target").then(|| format!("{} {} {}", t.name, t.class, t.index))
    }
}

fn registry() -> Registry {
    let mut r = click_elements::registry();
    r.add::<LinearIPLookup>()
        .add::<RadixIPLookup>()
        .add::<ARPResponder>()
        .add::<Pointer>();
    r
}

/// Builds `config`, initializes it without running (as `router -q`) and
/// reads `reads`; the rendered errors if it does not build.
fn quiet(config: &str, reads: &[&str]) -> Result<Vec<String>, String> {
    let flat =
        click_lang::load_str(config, "config", &Default::default()).map_err(|d| d.render())?;
    let router = Router::new(&flat, &registry()).map_err(|e| {
        e.iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    router
        .stop_flag()
        .store(true, std::sync::atomic::Ordering::Release);
    let opts = RunOptions {
        final_reads: reads.iter().map(|r| r.to_string()).collect(),
        ..RunOptions::default()
    };
    let report = router.run(&opts).map_err(|e| format!("{e:?}"))?;
    report.reads.into_iter().collect()
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

/// The `%file NAME` section of a Click test file.
fn click_test_file(test: &str, section: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/click-tests/").to_string() + test;
    let Ok(text) = std::fs::read_to_string(&path) else {
        return String::new();
    };
    let start = format!("%file {section}\n");
    let Some(from) = text.find(&start) else {
        return String::new();
    };
    let body = &text[from + start.len()..];
    body[..body.find("\n%").map_or(body.len(), |i| i + 1)].to_string()
}

#[test]
fn address_info_bcast_01() {
    // Click's ip/AddressInfo-bcast-01, with the stand-in LinearIPLookup.
    let config = "AddressInfo(foo 1.2.3.4/20);
        rt::LinearIPLookup(foo 0, foo:ipnet 1, foo:bcast 2);
        Idle -> rt; rt[0] -> Discard; rt[1] -> Discard; rt[2] -> Discard;";
    let table = quiet(config, &["rt.table"]).unwrap();
    assert_eq!(
        words(&table[0]),
        words("1.2.3.4/32 - 0\n1.2.0.0/20 - 1\n1.2.15.255/32 - 2\n")
    );
}

#[test]
fn iplookups_02_names_resolve() {
    // Click's ip/iplookups-02 configuration: AddressInfo names with an
    // Ethernet and an IP address each, used as routes.
    let mut config = click_test_file("ip/iplookups-02.clicktest", "SCRIPT");
    if config.is_empty() {
        eprintln!("skipped: ../shared/click-tests is not there");
        return;
    }
    // The driver writes the routes file; only the configuration matters.
    config = config.replace(
        "DriverManager(write routing_table.ctrl $(cat ROUTES),\n\t      print routing_table.lookup 11.12.12.1)",
        "",
    );
    let table = quiet(&config, &["routing_table.table"]).unwrap();
    let lines: Vec<Vec<&str>> = table[0].lines().map(words).collect();
    assert_eq!(lines.len(), 9);
    assert_eq!(lines[0], ["192.168.2.2/32", "-", "8"]);
    assert_eq!(lines[7], ["192.168.7.2/32", "-", "15"]);
    assert_eq!(lines[8], ["0.0.0.0/0", "-", "16"]);
}

#[test]
fn arp_responder_01_names_resolve() {
    // Click's ethernet/ARPResponder-01: the configurations it writes to
    // ar.config, and the tables Click prints for them.
    let cases = [
        ("a", "1.0.0.2/32 00-01-02-03-04-05"),
        ("a:ipnet b:eth", "1.0.0.0/24 00-01-02-03-04-06"),
        (
            "a:ipnet b:eth, a",
            "1.0.0.0/24 00-01-02-03-04-06\n1.0.0.2/32 00-01-02-03-04-05",
        ),
    ];
    for (args, table) in cases {
        let config = format!(
            "AddressInfo(a 1.0.0.2/24 00:01:02:03:04:05, b 00:01:02:03:04:06);
             i::Idle -> ar::ARPResponder({args}) -> i;"
        );
        let got = quiet(&config, &["ar.table"]).unwrap();
        assert_eq!(words(&got[0]), words(table), "{args}");
    }
}

#[test]
fn click_tests_with_addressinfo_arguments_check() {
    // The library's ARPResponder takes ARPResponder-01's AddressInfo
    // names: `router --check` accepts the file as it is.
    let config = click_test_file("ethernet/ARPResponder-01.clicktest", "CONFIG");
    if !config.is_empty() {
        let (status, _, stderr) = router_outcome(&["--check", "-e", &config]);
        assert!(status.success(), "{stderr}");
        assert!(!stderr.contains("error"), "{stderr}");
    }
    // The library's route lookups take the names (iplookups-02's routes,
    // AddressInfo-bcast-01's).
    let config = click_test_file("ip/iplookups-02.clicktest", "SCRIPT");
    if !config.is_empty() {
        let (status, _, stderr) = router_outcome(&["--check", "-e", &config]);
        assert!(status.success(), "{stderr}");
    }
    let (status, _, stderr) = router_outcome(&[
        "--check",
        "-e",
        "AddressInfo(foo 1.2.3.4/20); rt::LinearIPLookup(foo 0, foo:ipnet 1, foo:bcast 2); \
         Idle -> rt; rt[0] -> Discard; rt[1] -> Discard; rt[2] -> Discard;",
    ]);
    assert!(status.success(), "{stderr}");
}

#[test]
fn address_info_reads_in_order() {
    // An AddressInfo address may be a name defined before it, not after
    // (Click: "'b' is not a recognizable address").
    // (Click's LinearIPLookup then replaces route 0 by the equal route 1;
    // the stand-in keeps both.)
    let config = "AddressInfo(b 1.0.0.0/8, a b); AddressInfo(c a:ipnet);
        rt :: LinearIPLookup(a 0, c 1, b:bcast 2);
        Idle -> rt; rt[0] -> Discard; rt[1] -> Discard; rt[2] -> Discard;";
    let table = quiet(config, &["rt.table"]).unwrap();
    assert_eq!(
        words(&table[0]),
        words("1.0.0.0/8 - 0\n1.0.0.0/8 - 1\n1.255.255.255/32 - 2\n")
    );
    // A name with an address and a prefix passes on its address only.
    let err = quiet("AddressInfo(b 1.2.3.4/8, a b); AddressInfo(c a:ipnet)", &[]).unwrap_err();
    assert!(
        err.contains("'a:ipnet' is not a recognizable address"),
        "{err}"
    );
    let err = quiet("AddressInfo(a b, b 1.2.3.4)", &[]).unwrap_err();
    assert_eq!(
        err,
        "while configuring 'AddressInfo@1 :: AddressInfo': 'b' is not a recognizable address"
    );
    let err = quiet("AddressInfo(a b); AddressInfo(b 1.2.3.4)", &[]).unwrap_err();
    assert!(err.contains("'b' is not a recognizable address"), "{err}");
}

#[test]
fn element_references_resolve_from_the_compound() {
    let config = "x :: Idle -> Discard;
        c :: { x :: Idle -> Discard; p :: Pointer(x); q :: Pointer(c/x); };
        d :: { r :: Pointer(x) };
        top :: Pointer(c/x);";
    let got = quiet(
        config,
        &["c/p.target", "c/q.target", "d/r.target", "top.target"],
    )
    .unwrap();
    let got: Vec<&str> = got.iter().map(|s| s.trim()).collect();
    // Indexes are the elements' positions in the flattened configuration.
    let index = |name: &str| {
        let flat = click_lang::load_str(config, "config", &Default::default()).unwrap();
        flat.elements.iter().position(|e| e.name == name).unwrap()
    };
    assert_eq!(got[0], format!("c/x Idle {}", index("c/x")));
    // Not c/c/x, which does not exist: the name is tried outwards.
    assert_eq!(got[1], format!("c/x Idle {}", index("c/x")));
    assert_eq!(got[2], format!("x Idle {}", index("x")));
    assert_eq!(got[3], format!("c/x Idle {}", index("c/x")));
    let err = quiet("p :: Pointer(nowhere)", &[]).unwrap_err();
    assert!(
        err.contains("while configuring 'p :: Pointer': ELEMENT: no element named 'nowhere'"),
        "{err}"
    );
    // A compound's parts are not visible from outside by their short names.
    let err = quiet("c :: { y :: Idle -> Discard }; p :: Pointer(y)", &[]).unwrap_err();
    assert!(err.contains("no element named 'y'"), "{err}");
}

#[test]
fn host_devices_answer_for_names() {
    // `lo` exists with 127.0.0.1/8 on every Linux host.
    if !cfg!(target_os = "linux") {
        return;
    }
    let config = "lo_routes :: LinearIPLookup(lo 0, lo:ipnet 1, lo:bcast 2, lo:gw 3);
        Idle -> lo_routes; lo_routes[0] -> Discard; lo_routes[1] -> Discard;
        lo_routes[2] -> Discard; lo_routes[3] -> Discard;";
    let table = quiet(config, &["lo_routes.table"]).unwrap();
    assert_eq!(
        words(&table[0]),
        words("127.0.0.1/32 - 0\n127.0.0.0/8 - 1\n127.255.255.255/32 - 2\n127.0.0.1/32 - 3\n")
    );
    // An AddressInfo name hides a device of the same name.
    let config = format!("AddressInfo(lo 10.9.8.7); {config}");
    let table = quiet(&config, &["lo_routes.table"]).unwrap();
    assert_eq!(words(&table[0])[0], "10.9.8.7/32");
    // An Ethernet device's hardware address, as the kernel shows it.
    for dev in ["eth0", "eth1", "wlan0"] {
        let sys = |f: &str| std::fs::read_to_string(format!("/sys/class/net/{dev}/{f}"));
        let (Ok(mac), Ok(kind)) = (sys("address"), sys("type")) else {
            continue;
        };
        if kind.trim() != "1" {
            continue;
        }
        let config = format!("i :: Idle -> ar :: ARPResponder(1.2.3.4 {dev}:eth) -> i");
        let table = quiet(&config, &["ar.table"]).unwrap();
        let want = mac.trim().to_ascii_uppercase().replace(':', "-");
        assert_eq!(words(&table[0]), ["1.2.3.4/32", want.as_str()], "{dev}");
    }
    // No Ethernet address for the loopback device.
    let err = quiet("i :: Idle -> ARPResponder(1.2.3.4 lo) -> i", &[]).unwrap_err();
    assert!(err.contains("missing ETH"), "{err}");
}
