//! Packet traces and printing, against Click: FromDump, ToDump, IPPrint,
//! ARPPrint, Print, FromIPSummaryDump and ToIPSummaryDump.
//!
//! * `differential_cases_match_click`: every case of
//!   `tests/fixtures/traces/cases.txt` ran through Click (the `.out`
//!   files, made by `make.sh` there) and runs here through ours, on the
//!   real captures of `../shared/pcaps`; the outputs must be the same,
//!   byte for byte.
//! * Truncated and corrupt traces are read up to the damage, with a
//!   warning naming the byte offset.
//! * `bad-packets.pcap` goes through every printing element without a
//!   panic.
//! * A ToDump file is complete after the router stops on SIGINT, SIGTERM
//!   or the `stop` handler, or after an element panics: a pcap reader (and
//!   tshark, which CI installs)
//!   reads every record whole.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use click_engine::args::Args;
use click_engine::{
    ConfigureCtx, ElementClass, Packet, PacketCtx, PacketElement, Port, Router, RunOptions, Threads,
};

mod common;

/// The shared captures.
fn pcaps() -> PathBuf {
    common::shared_pcaps()
}

/// This suite's kept expected outputs.
fn fixtures() -> PathBuf {
    common::fixtures("traces")
}

/// A fresh scratch directory for one test.
fn scratch(tag: &str) -> PathBuf {
    common::scratch("traces", tag)
}

/// Click's `MarkIPHeader(OFFSET)`, standing in while the library has
/// none: marks the network header at OFFSET, as long as its IP header
/// length says (0 bytes if that is past the data).
struct MarkAt(usize);

impl ElementClass for MarkAt {
    const CLASS: &'static str = "MarkIPHeader";
    const THREADS: Threads = Threads::PerThread;

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(MarkAt(args.read_p("OFFSET")?.unwrap_or(0)))
    }
}

impl PacketElement for MarkAt {
    fn process(&mut self, p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        let hl = p.data().get(self.0).map_or(0, |b| usize::from(b & 15) * 4);
        if p.set_network_header(self.0, hl).is_err() {
            let _ = p.set_network_header(self.0.min(p.len()), 0);
        }
        Some(0)
    }
}

/// `PanicAt(N)`: passes packets on and panics at the Nth (an element
/// bug, for the cleanup-after-panic test).
struct PanicAt(u64);

impl ElementClass for PanicAt {
    const CLASS: &'static str = "PanicAt";

    fn configure(args: &mut Args, _ctx: &ConfigureCtx) -> Result<Self, String> {
        Ok(PanicAt(args.read_mp("N")?))
    }
}

impl PacketElement for PanicAt {
    fn process(&mut self, _p: &mut Packet, _ctx: &mut PacketCtx<'_>) -> Option<Port> {
        self.0 -= 1;
        assert!(self.0 > 0, "PanicAt reached its packet");
        Some(0)
    }
}

fn registry() -> click_engine::Registry {
    let mut r = click_elements::registry();
    if r.get("MarkIPHeader").is_none() {
        r.add::<MarkAt>();
    }
    r.add::<PanicAt>();
    r
}

/// Runs `config` in this process; returns the final reads of `handlers`.
fn run(config: &str, handlers: &[&str]) -> Result<Vec<String>, String> {
    let flat =
        click_lang::load_str(config, "config", &Default::default()).map_err(|d| d.render())?;
    let render =
        |e: Vec<click_lang::Diagnostic>| -> String { e.iter().map(|d| format!("{d}\n")).collect() };
    let router = Router::new(&flat, &registry()).map_err(render)?;
    let opts = RunOptions {
        final_reads: handlers.iter().map(|h| h.to_string()).collect(),
        ..Default::default()
    };
    let report = router.run(&opts).map_err(render)?;
    report
        .reads
        .into_iter()
        .map(|r| r.map(|v| v.trim_end().to_string()))
        .collect()
}

/// Runs `config` with the router binary; returns its standard error.
fn run_binary(config: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_router"))
        .args(["-e", config])
        .env("RUST_LOG", "error")
        .output()
        .expect("run router");
    assert!(out.status.success(), "router failed: {config}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

struct Case {
    name: String,
    stderr: bool,
    config: String,
}

fn cases() -> Vec<Case> {
    let text = fs::read_to_string(fixtures().join("cases.txt")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.splitn(3, " | ");
            let name = parts.next().unwrap().to_string();
            let kind = parts.next().expect("kind");
            let config = parts.next().expect("config").to_string();
            assert!(kind == "file" || kind == "stderr", "{name}: kind {kind}");
            Case {
                name,
                stderr: kind == "stderr",
                config,
            }
        })
        .collect()
}

#[test]
fn differential_cases_match_click() {
    let pcaps = pcaps();
    let fix = fixtures();
    let dir = scratch("diff");
    let mut failures = Vec::new();
    let cases = cases();
    assert!(cases.len() >= 40, "cases.txt lost its cases");
    for case in &cases {
        let out = dir.join(format!("{}.out", case.name));
        let config = case
            .config
            .replace("@PCAPS@", pcaps.to_str().unwrap())
            .replace("@FIX@", fix.to_str().unwrap())
            .replace("@OUT@", out.to_str().unwrap());
        let ours = if case.stderr {
            run_binary(&config).into_bytes()
        } else {
            if let Err(e) = run(&config, &[]) {
                failures.push(format!("{}: {e}", case.name));
                continue;
            }
            fs::read(&out).unwrap_or_default()
        };
        let click = fs::read(fix.join(format!("{}.out", case.name))).unwrap();
        if ours != click {
            failures.push(format!(
                "{}: {}",
                case.name,
                common::first_difference(&click, &ours)
            ));
        }
    }
    let _ = fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn truncated_and_corrupt_traces_are_read_up_to_the_damage() {
    let dir = scratch("trunc");
    let whole = fs::read(pcaps().join("arp-ping.pcap")).unwrap();
    // 3000 bytes: 27 whole records, the 28th cut at byte offset 2990.
    let cut = dir.join("cut.pcap");
    fs::write(&cut, &whole[..3000]).unwrap();
    let reads = run(
        &format!(
            "fd :: FromDump({}, STOP true) -> c :: Counter -> Discard",
            cut.display()
        ),
        &["c.count", "fd.packet_filepos"],
    )
    .unwrap();
    assert_eq!(reads, ["27", "2990"]);
    // A record claiming 2 GB: the trace ends there (byte 82), after one
    // packet, as Click's "bad packet header; giving up".
    let mut bad = whole.clone();
    bad[24 + 16 + 42 + 8..24 + 16 + 42 + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let corrupt = dir.join("corrupt.pcap");
    fs::write(&corrupt, &bad).unwrap();
    let reads = run(
        &format!(
            "FromDump({}, STOP true) -> c :: Counter -> Discard",
            corrupt.display()
        ),
        &["c.count"],
    )
    .unwrap();
    assert_eq!(reads, ["1"]);
    // The warning names the offset (through the binary, to see it).
    let out = Command::new(env!("CARGO_BIN_EXE_router"))
        .args([
            "-e",
            &format!("FromDump({}, STOP true) -> Discard", cut.display()),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("trace ends in the middle of the record at byte offset 2990"),
        "{err}"
    );
    // A corrupt file header is an error at initialize.
    let mut badmagic = whole.clone();
    badmagic[..4].copy_from_slice(b"nope");
    let m = dir.join("magic.pcap");
    fs::write(&m, &badmagic).unwrap();
    let e = run(&format!("FromDump({}) -> Discard", m.display()), &[]).unwrap_err();
    assert!(e.contains("bad magic number"), "{e}");
    // A header cut short.
    fs::write(&m, &whole[..10]).unwrap();
    let e = run(&format!("FromDump({}) -> Discard", m.display()), &[]).unwrap_err();
    assert!(e.contains("too short"), "{e}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn pcapng_and_linux_cooked_traces_read_as_pcap() {
    // A pcapng file (section header, an interface with microsecond
    // resolution and Linux cooked link type, two enhanced packets) gives
    // the same packets as the pcap ToDump writes from it.
    let dir = scratch("ng");
    let le32 = |v: u32| v.to_le_bytes();
    let block = |ty: u32, body: &[u8]| {
        let len = 12 + body.len().div_ceil(4) * 4;
        let mut b = Vec::new();
        b.extend(le32(ty));
        b.extend(le32(len as u32));
        b.extend(body);
        b.resize(len - 4, 0);
        b.extend(le32(len as u32));
        b
    };
    let mut f = Vec::new();
    let mut shb = Vec::new();
    shb.extend(le32(0x1a2b_3c4d));
    shb.extend(1u16.to_le_bytes());
    shb.extend(0u16.to_le_bytes());
    shb.extend((-1i64).to_le_bytes());
    f.extend(block(0x0a0d_0d0a, &shb));
    let mut idb = Vec::new();
    idb.extend(113u16.to_le_bytes()); // LINKTYPE_LINUX_SLL
    idb.extend(0u16.to_le_bytes());
    idb.extend(le32(65535));
    f.extend(block(1, &idb));
    // A cooked frame: 16-byte SLL header (protocol 0x0800) + 20-byte IP.
    let mut frame = vec![0u8; 16];
    frame[14..16].copy_from_slice(&0x0800u16.to_be_bytes());
    frame.extend([
        0x45, 0, 0, 20, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    for (i, usec) in [(0u32, 1_500_000u64), (1, 2_750_001)] {
        let ts = 1_700_000_000u64 * 1_000_000 + usec;
        let mut epb = Vec::new();
        epb.extend(le32(0));
        epb.extend(le32((ts >> 32) as u32));
        epb.extend(le32(ts as u32));
        epb.extend(le32(frame.len() as u32));
        epb.extend(le32(frame.len() as u32 + i));
        epb.extend(&frame);
        f.extend(block(6, &epb));
    }
    let ng = dir.join("t.pcapng");
    fs::write(&ng, &f).unwrap();
    let out = dir.join("t.pcap");
    let reads = run(
        &format!(
            "fd :: FromDump({}, STOP true, FORCE_IP true) -> IPPrint(OUTFILE {}) -> ToDump({}, USE_ENCAP_FROM fd)",
            ng.display(),
            dir.join("t.txt").display(),
            out.display()
        ),
        &["fd.encap", "fd.count"],
    )
    .unwrap();
    assert_eq!(reads, ["SLL", "2"]);
    let text = fs::read_to_string(dir.join("t.txt")).unwrap();
    assert_eq!(
        text,
        "1700000001.500000: 10.0.0.1 > 10.0.0.2: truncated-udp\n\
         1700000002.750001: 10.0.0.1 > 10.0.0.2: truncated-udp\n"
    );
    let pcap = fs::read(&out).unwrap();
    assert_eq!(&pcap[20..24], &113u32.to_le_bytes(), "link type SLL");
    // The second record keeps its wire length (one more than captured).
    let second = 24 + 16 + 36;
    assert_eq!(&pcap[second + 12..second + 16], &37u32.to_le_bytes());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn bad_packets_go_through_every_printer_without_a_panic() {
    let dir = scratch("bad");
    let bad = pcaps().join("bad-packets.pcap");
    for (force, extra) in [("false", ""), ("true", ", SNAPLEN 40")] {
        let config = format!(
            "fd :: FromDump({bad}, STOP true, FORCE_IP {force}) -> t :: Tee(3);
             t[0] -> IPPrint(CONTENTS HEX, MAXLENGTH -1, ID true, TTL true, TOS true, LENGTH true, OUTFILE {d}/ip.txt) -> Discard;
             t[1] -> MarkIPHeader(14) -> ARPPrint(ETHER true, OUTFILE {d}/arp.txt) -> Print(CONTENTS ASCII, MAXLENGTH -1, PRINTANNO true, OUTFILE {d}/p.txt) -> Discard;
             t[2] -> IPPrint(PAYLOAD ASCII, OUTFILE {d}/payload.txt) -> ToIPSummaryDump({d}/s.txt, FIELDS ts src dst proto sport dport len tcp_flags icmp_type icmp_code_name payload, BAD_PACKETS true) -> ToDump({d}/t.pcap{extra});",
            bad = bad.display(),
            d = dir.display()
        );
        let reads = run(&config, &["fd.count"]).unwrap();
        let count: usize = reads[0].parse().unwrap();
        assert!(count > 0);
        // Print wrote one line per packet, whatever it held.
        let p = fs::read_to_string(dir.join("p.txt")).unwrap();
        assert_eq!(p.lines().count(), count, "FORCE_IP {force}");
        // The ToDump file reads back whole.
        let back = run(
            &format!(
                "FromDump({}/t.pcap, STOP true) -> c :: Counter -> Discard",
                dir.display()
            ),
            &["c.count"],
        )
        .unwrap();
        assert_eq!(back, [count.to_string()]);
    }
    let _ = fs::remove_dir_all(&dir);
}

/// Reads a pcap file with the pcap-file crate: every record whole; the
/// number of records.
fn pcap_records(path: &Path) -> usize {
    let f = fs::File::open(path).unwrap();
    let mut r =
        pcap_file::pcap::PcapReader::new(f).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut n = 0;
    while let Some(p) = r.next_raw_packet() {
        let p = p.unwrap_or_else(|e| panic!("{}: record {n}: {e}", path.display()));
        assert_eq!(p.data.len(), p.incl_len as usize);
        n += 1;
    }
    n
}

/// tshark must read the file with no warning or error. CI installs
/// tshark (.ci/run); a machine without it fails here, loudly.
fn tshark_reads_cleanly(path: &Path, records: usize) {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("tshark is needed for this test (apt-get install tshark; .ci/run installs it)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tshark failed on {}: {err}",
        path.display()
    );
    // Its note about running as root is about us, not the file.
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("could be dangerous"))
        .collect();
    assert!(
        warnings.is_empty(),
        "tshark warned on {}: {err}",
        path.display()
    );
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(lines, records, "tshark saw another number of packets");
}

#[test]
fn todump_files_are_complete_after_sigint_sigterm_and_stop() {
    let dir = scratch("sig");
    // A source fast enough that the writer's block is never full when the
    // signal comes: what is still buffered must reach the file.
    let source = "RatedSource(\\<0200000001010200000001020800450000280001000040063ae00a0001020a000202>, RATE 2000)";
    for (i, how) in ["INT", "TERM", "stop"].iter().enumerate() {
        let file = dir.join(format!("{i}.pcap"));
        let mut config = format!(
            "{source} -> c :: Counter -> td :: ToDump({}, SNAPLEN 30)",
            file.display()
        );
        if *how == "stop" {
            config.push_str("; DriverManager(wait 400ms, write td.reset_counts, stop)");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_router"))
            .args(["-e", &config, "-h", "c.count"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if *how != "stop" {
            std::thread::sleep(Duration::from_millis(400));
            let sig = if *how == "INT" {
                libc::SIGINT
            } else {
                libc::SIGTERM
            };
            // SAFETY: kill(2) on our own live child.
            assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
        }
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "router did not stop"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let count: usize = text
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .next()
            .unwrap_or_else(|| panic!("no count printed ({how}): {text}"));
        assert!(count > 0, "{how}: no packets");
        let records = pcap_records(&file);
        assert_eq!(records, count, "{how}: every packet counted is in the file");
        tshark_reads_cleanly(&file, records);
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn todump_from_two_threads_writes_one_valid_file() {
    let dir = scratch("mt");
    let file = dir.join("mt.pcap");
    let config = format!(
        "s0 :: InfiniteSource(LIMIT 3000, STOP true) -> td :: ToDump({f});
         s1 :: InfiniteSource(\\<0102>, LIMIT 2000) -> td;
         StaticThreadSched(s0 0, s1 1);",
        f = file.display()
    );
    let flat = click_lang::load_str(&config, "config", &Default::default()).unwrap();
    let router = Router::new(&flat, &registry()).unwrap();
    let opts = RunOptions {
        threads: 2,
        final_reads: vec!["td.count".into()],
        ..Default::default()
    };
    let report = router.run(&opts).unwrap();
    let count: usize = report.reads[0].as_ref().unwrap().trim().parse().unwrap();
    assert_eq!(pcap_records(&file), count);
    assert!(count >= 3000, "{count}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn todump_file_is_complete_after_an_element_panics() {
    // ToDump writes each batch before pushing it on; the element after it
    // panics at the 300th packet. The engine stops the router and cleans
    // up every element: the file holds every packet ToDump took, whole.
    let dir = scratch("panic");
    let file = dir.join("p.pcap");
    let config = format!(
        "FromDump({}, STOP true) -> td :: ToDump({}) -> PanicAt(300) -> Discard",
        pcaps().join("tcp-iperf.pcap").display(),
        file.display()
    );
    let _ = run(&config, &[]);
    let records = pcap_records(&file);
    assert!((300..=332).contains(&records), "{records} records");
    tshark_reads_cleanly(&file, records);
    let _ = fs::remove_dir_all(&dir);
}

/// The lengths of a pcap file's records, in order.
fn record_lengths(path: &Path) -> Vec<usize> {
    let f = fs::File::open(path).unwrap();
    let mut r = pcap_file::pcap::PcapReader::new(f).unwrap();
    let mut v = Vec::new();
    while let Some(p) = r.next_raw_packet() {
        v.push(p.unwrap().data.len());
    }
    v
}

#[test]
fn fromdump_burst_sets_packets_per_task_run() {
    let dir = scratch("burst");
    let input = pcaps().join("arp-ping.pcap");
    // Each packet leaves Tee twice, whole and stripped, and both meet at one ToDump: with
    // BURST 1 (Click's FromDump) they alternate; with the default 32 a batch's whole packets
    // come before its stripped ones.
    let lengths = |burst: &str| {
        let out = dir.join(format!("out{}.pcap", burst.len()));
        let reads = run(
            &format!(
                "fd :: FromDump({}, STOP true{burst}) -> t :: Tee(2); \
                 t[0] -> td :: ToDump({}); t[1] -> Strip(14) -> td",
                input.display(),
                out.display()
            ),
            &["fd.count"],
        )
        .unwrap();
        assert_eq!(reads, ["52"]);
        record_lengths(&out)
    };
    let one = lengths(", BURST 1");
    assert_eq!(one.len(), 104);
    for pair in one.chunks(2) {
        assert_eq!(pair[0], pair[1] + 14, "{one:?}");
    }
    let batched = lengths("");
    assert_eq!(batched.len(), 104);
    // The first batch: 32 whole packets (two ARP frames, then pings), then the same stripped.
    assert_eq!(batched[..3], [42, 42, 98], "{batched:?}");
    assert_eq!(batched[32..35], [28, 28, 84], "{batched:?}");
    let e = run(
        &format!("FromDump({}, BURST 0) -> Discard", input.display()),
        &[],
    )
    .unwrap_err();
    assert!(e.contains("BURST"), "{e}");
    let _ = fs::remove_dir_all(&dir);
}
