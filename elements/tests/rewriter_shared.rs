//! IPRewriterPatterns: named patterns give the mappings inline patterns
//! give, with or without the `pattern` keyword; every input naming one
//! shares it (a sequential range goes on across rewriters); unknown and
//! repeated names are errors. RoundRobinIPMapper: specs naming it map
//! flows by its patterns in turn, the turn shared by every rewriter.
//! MAPPING_CAPACITY naming another rewriter: one capacity for both.

mod common;

/// Two UDP flows, as an IP summary dump in a file of their own.
fn dump(tag: &str) -> String {
    let dir = std::env::temp_dir().join(format!("rewriter-named-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("in.ipsum");
    std::fs::write(
        &path,
        "!data src sport dst dport proto\n\
         10.0.0.1 5 2.2.2.2 53 U\n\
         10.0.0.2 7 2.2.2.2 53 U\n",
    )
    .unwrap();
    path.display().to_string()
}

/// The flow tables of `rw1` and `rw2` (UDPRewriters with `spec`, each
/// getting every packet) after the dump's flows.
fn tables(tag: &str, spec: &str, patterns: &str) -> Result<Vec<String>, String> {
    let config = format!(
        "{patterns}
         FromIPSummaryDump({}, STOP true) -> t :: Tee
           -> rw1 :: UDPRewriter({spec}, REAP_INTERVAL 0) -> Discard;
         t[1] -> rw2 :: UDPRewriter({spec}, REAP_INTERVAL 0) -> Discard;",
        dump(tag)
    );
    common::run(&config, 1, &["rw1.table", "rw2.table", "rw1.patterns"])
}

const PATTERNS: &str = "IPRewriterPatterns(nat 21.0.0.1 1024-65535# - -, other 22.0.0.1 - - -);";

/// The rewritten source ports of a table's forward mappings.
fn ports(table: &str) -> Vec<String> {
    table
        .lines()
        .filter(|l| l.starts_with("(10.0.0."))
        .filter_map(|l| l.split("=> (").nth(1))
        .map(|r| r.split(", ").nth(1).unwrap_or("").to_string())
        .collect()
}

#[test]
fn named_patterns_map_as_inline_ones_and_are_shared() {
    let inline = tables("inline", "pattern 21.0.0.1 1024-65535# - - 0 0", "").unwrap();
    let named = tables("named", "pattern nat 0 0", PATTERNS).unwrap();
    let bare = tables("bare", "nat 0 0", PATTERNS).unwrap();
    // One rewriter: the same mappings either way.
    assert_eq!(ports(&inline[0]), ["1024", "1025"]);
    assert_eq!(named[0], inline[0]);
    assert_eq!(bare[0], inline[0]);
    assert_eq!(named[2].trim(), "21.0.0.1 1024-65535 - - [2]");
    // Two rewriters: inline patterns are each their own, a named one is
    // one pattern, whose sequence goes on.
    assert_eq!(ports(&inline[1]), ["1024", "1025"]);
    assert_eq!(ports(&named[1]), ["1026", "1027"]);
    assert_eq!(ports(&bare[1]), ["1026", "1027"]);
}

#[test]
fn unknown_repeated_and_bad_names_are_errors() {
    let err = tables("unknown", "pattern nope 0 0", PATTERNS).unwrap_err();
    assert!(
        err.contains("input spec 0: no such pattern 'nope'"),
        "{err}"
    );
    let err = tables("nopats", "nope 0 0", "").unwrap_err();
    assert!(
        err.contains("input spec 0: no such pattern 'nope'"),
        "{err}"
    );
    let twice = format!("{PATTERNS} IPRewriterPatterns(nat 1.0.0.1 - - -);");
    let err = tables("twice", "nat 0 0", &twice).unwrap_err();
    assert!(err.contains("pattern 'nat' already defined"), "{err}");
    let bad = "IPRewriterPatterns(nat 1.0.0.1 x - -, b 2.0.0.1 - - -, b 3.0.0.1 - - -);";
    let err = tables("bad", "nat 0 0", bad).unwrap_err();
    assert!(err.contains("pattern 'nat': bad source port"), "{err}");
    assert!(err.contains("pattern 'b' already defined"), "{err}");
    // A spec of one unknown word and two more is not a pattern name.
    let err = tables("words", "nat x 0", PATTERNS).unwrap_err();
    assert!(err.contains("unknown specification"), "{err}");
}

#[test]
fn a_round_robin_mapper_takes_turns_across_rewriters() {
    let mapper =
        format!("{PATTERNS} m :: RoundRobinIPMapper(30.0.0.1 - - - 0 0, nat 0 0, other 0 0);");
    let t = tables("rr", "m", &mapper).unwrap();
    let sources = |table: &str| -> Vec<String> {
        table
            .lines()
            .filter(|l| l.starts_with("(10.0.0."))
            .filter_map(|l| l.split("=> (").nth(1))
            .map(|r| r.split(", ").take(2).collect::<Vec<_>>().join(":"))
            .collect()
    };
    // rw1's two flows take patterns 0 and 1; rw2's, 2 and 0.
    assert_eq!(sources(&t[0]), ["30.0.0.1:5", "21.0.0.1:1024"]);
    assert_eq!(sources(&t[1]), ["22.0.0.1:5", "30.0.0.1:7"]);
    assert_eq!(t[2].trim(), "<mapper> [2]");
}

#[test]
fn mapper_specs_name_mappers_with_outputs_the_rewriter_has() {
    let err = tables("notmapper", "q", "q :: Queue; Idle -> q -> Discard;").unwrap_err();
    assert!(
        err.contains("input spec 0: element is not an IPMapper"),
        "{err}"
    );
    let err = tables("nosuch", "nosuch", "").unwrap_err();
    assert!(err.contains("input spec 0: unknown specification"), "{err}");
    let wide = "m :: RoundRobinIPMapper(- - - - 0 0, - - - - 0 1);";
    let err = tables("wide", "m", wide).unwrap_err();
    assert!(
        err.contains("input spec 0: output port out of range in m"),
        "{err}"
    );
    let err = tables("empty", "m", "m :: RoundRobinIPMapper();").unwrap_err();
    assert!(err.contains("no patterns given"), "{err}");
    let err = tables(
        "badpat",
        "m",
        "m :: RoundRobinIPMapper(x - - - 0 0, nope 0 0);",
    )
    .unwrap_err();
    assert!(err.contains("pattern 0: bad source address"), "{err}");
}

#[test]
fn a_shared_capacity_counts_both_rewriters_flows() {
    let config = format!(
        "FromIPSummaryDump({}, STOP true) -> t :: Tee
           -> rw1 :: UDPRewriter(pattern 21.0.0.1 1024-65535# - - 0 0, MAPPING_CAPACITY rw2)
           -> Discard;
         t[1] -> rw2 :: UDPRewriter(pattern 22.0.0.1 1024-65535# - - 0 0, MAPPING_CAPACITY 3)
           -> Discard;",
        dump("capacity")
    );
    let handlers = [
        "rw1.size",
        "rw2.size",
        "rw1.capacity",
        "rw1.table_size",
        "rw2.table_size",
        "rw2.mapping_failures",
    ];
    let reads = common::run(&config, 1, &handlers).unwrap();
    let reads: Vec<&str> = reads.iter().map(|r| r.trim()).collect();
    // rw1 maps both flows, rw2 the first: then the three flows fill the
    // shared capacity, all under guarantee, so rw2's second is refused.
    assert_eq!(reads, ["3", "3", "3", "2", "1", "1"]);
    // A chain: rw0 shares rw1's, which is rw2's.
    let chained = config.replace(
        "FromIPSummaryDump",
        "Idle -> rw0 :: UDPRewriter(drop, MAPPING_CAPACITY rw1) -> Discard; FromIPSummaryDump",
    );
    let reads = common::run(&chained, 1, &["rw0.size", "rw0.capacity"]).unwrap();
    assert_eq!((reads[0].trim(), reads[1].trim()), ("3", "3"));
    let circle = "Idle -> a :: UDPRewriter(drop, MAPPING_CAPACITY b) -> Discard;
                  Idle -> b :: UDPRewriter(drop, MAPPING_CAPACITY a) -> Discard;";
    let err = common::run(circle, 1, &[]).unwrap_err();
    assert!(err.contains("in a circle"), "{err}");
    let bad = "Idle -> rw :: UDPRewriter(drop, MAPPING_CAPACITY q) -> Discard; Idle -> q :: Queue -> Discard;";
    let err = common::run(bad, 1, &[]).unwrap_err();
    assert!(err.contains("bad MAPPING_CAPACITY"), "{err}");
}
