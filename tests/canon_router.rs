//! The canonical IP router (Click's `make-ip-conf.pl` output, with files for devices) against
//! Click, on every capture of `../shared/pcaps`, fed to either interface.
//!
//! * `canonical_router_matches_click`: every case of `tests/fixtures/canon/cases.txt` ran through
//!   Click (`make.sh` there, on `router.click` from `gen-conf.sh`) and runs here through the
//!   router binary, both with `--simtime`, each in a process of its own; the pcap each interface
//!   and the host side write, the handler values read at the end (`handlers.txt`) and what the
//!   router prints on stderr must be Click's, byte for byte, but for two things:
//!   - Our FromDumps get `BURST 1`: Click's FromDump pushes one packet per task run, so each
//!     packet goes through the whole router before the next is read; ours reads batches of 32
//!     unless told otherwise, and an ICMP error or ARP reply would then leave after the rest of
//!     its batch instead of before the next packet.
//!   - A packet the router makes without a timestamp (ARPResponder's replies) or stamps with
//!     the time now (ICMPError's errors, and the ARP queries for their destinations, which copy
//!     it) is written with the simulated clock's time, which starts at second 1000000000 in
//!     both. Click's simulated clock moves a nanosecond at each reading and its scheduler reads
//!     it many times per packet, ours moves a microsecond per scheduling round: the sub-second
//!     part counts clock readings, not anything the router does. For records stamped within
//!     that second in both files, only the second is compared; the captures' own stamps (years
//!     later) are compared exactly.
//!   - [`REORDERED`]: files whose records are Click's but not in Click's order, compared as
//!     sorted lists of records (so a lost, added or changed packet still fails).
//! * `bad_packets_all_accounted`: `bad-packets.pcap` through the whole router on each
//!   interface, with Counters on the classifier's outputs and after CheckIPHeader: every frame
//!   is classified, every IP frame CheckIPHeader refuses is in its `drops` (as many as
//!   Click's, from the fixtures), every non-IP frame is printed, and nothing panics.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

/// The shared captures.
fn pcaps() -> PathBuf {
    common::shared_pcaps()
}

/// This suite's kept expected outputs.
fn fixtures() -> PathBuf {
    common::fixtures("canon")
}

/// A fresh scratch directory for one test.
fn scratch(tag: &str) -> PathBuf {
    common::scratch("canon", tag)
}

struct Case {
    name: String,
    inputs: [String; 2],
    mtu: String,
    warm: bool,
}

fn cases() -> Vec<Case> {
    let text = fs::read_to_string(fixtures().join("cases.txt")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('|').map(str::trim).collect();
            assert_eq!(f.len(), 5, "cases.txt: {l}");
            Case {
                name: f[0].to_string(),
                inputs: [f[1].to_string(), f[2].to_string()],
                mtu: f[3].to_string(),
                warm: match f[4] {
                    "warm" => true,
                    "cold" => false,
                    p => panic!("cases.txt: prelude {p}"),
                },
            }
        })
        .collect()
}

/// router.click with a case's inputs, MTU, prelude and output prefix, as make.sh writes it.
fn config(case: &Case, out: &Path) -> String {
    let fix = fixtures();
    let mut c = fs::read_to_string(fix.join("router.click")).unwrap();
    for (k, input) in case.inputs.iter().enumerate() {
        let (file, stop) = if input == "-" {
            (fix.join("empty.pcap"), "false")
        } else {
            (pcaps().join(input), "true")
        };
        c = c
            .replace(&format!("@IN{k}@"), file.to_str().unwrap())
            .replace(&format!("@STOP{k}@"), stop);
    }
    let (active, prelude) = if case.warm {
        ("false", fs::read_to_string(fix.join("warm.click")).unwrap())
    } else {
        ("true", String::new())
    };
    // make.sh substitutes with bash, which drops the prelude file's last newline.
    c.replace("@ACTIVE@", active)
        .replace("TIMING false, ", "TIMING false, BURST 1, ")
        .replace("@PRELUDE@", prelude.trim_end_matches('\n'))
        .replace("@MTU@", &case.mtu)
        .replace("@OUT@", out.to_str().unwrap())
}

fn handlers() -> Vec<String> {
    fs::read_to_string(fixtures().join("handlers.txt"))
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect()
}

fn run(config: &str, handlers: &[String]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_router"));
    cmd.arg("--simtime").args(["-e", config]);
    for h in handlers {
        cmd.args(["-h", h]);
    }
    cmd.env("RUST_LOG", "error").output().expect("run router")
}

/// The second at which simulated time starts (`--simtime`'s default, Click's too).
const SIMTIME_SECOND: u32 = 1_000_000_000;

/// The records of a pcap file written by ToDump (little-endian; Click's ToDump writes
/// nanosecond stamps when Click keeps them, and ours does the same), with the
/// sub-second part of the stamps in the simulated clock's first second zeroed. None when the
/// file is not such a pcap or a record runs past its end.
fn masked_records(file: &[u8]) -> Option<Vec<u8>> {
    let magic = file.get(..4)?;
    if magic != [0xd4, 0xc3, 0xb2, 0xa1] && magic != [0x4d, 0x3c, 0xb2, 0xa1] {
        return None;
    }
    let mut out = file[..24].to_vec();
    let mut at = 24;
    while at < file.len() {
        let head = file.get(at..at + 16)?;
        let word = |i: usize| u32::from_le_bytes(head[i..i + 4].try_into().unwrap());
        let caplen = word(8) as usize;
        let record = file.get(at..at + 16 + caplen)?;
        out.extend_from_slice(record);
        if word(0) == SIMTIME_SECOND {
            let n = out.len() - record.len();
            out[n + 4..n + 8].fill(0);
        }
        at += 16 + caplen;
    }
    Some(out)
}

/// Whether two ToDump outputs are the same, stamps from the simulated clock aside.
fn same_output(click: &[u8], ours: &[u8]) -> bool {
    click == ours
        || matches!((masked_records(click), masked_records(ours)), (Some(a), Some(b)) if a == b)
}

/// Files known to hold Click's records in another order, and why.
///
/// icmp-errors-0, eth0: A's ping to 10.0.9.9 takes the default route back out of eth0, so
/// PaintTee(1) clones it to ICMPError (a redirect to A), whose error goes back into `rt`. Click
/// pushes recursively: the redirect goes all the way to `out0` before the ping reaches
/// `arpq0`, which then queries for the gateway. Here `rt` is still in the middle of its own
/// push, so the engine defers the error's push into it until that push returns: the ARP query
/// is written before the redirect. Every other packet and file keeps Click's order.
const REORDERED: &[(&str, &str)] = &[("icmp-errors-0", "eth0")];

/// The records of a pcap (stamps masked as in [`masked_records`]), sorted.
fn sorted_records(file: &[u8]) -> Option<Vec<Vec<u8>>> {
    let masked = masked_records(file)?;
    let mut v = Vec::new();
    let mut at = 24;
    while at < masked.len() {
        let caplen = u32::from_le_bytes(masked[at + 8..at + 12].try_into().unwrap()) as usize;
        v.push(masked[at..at + 16 + caplen].to_vec());
        at += 16 + caplen;
    }
    v.sort();
    Some(v)
}

const SIDES: [&str; 3] = ["eth0", "eth1", "host"];

#[test]
fn masking_keeps_everything_but_simulated_subseconds() {
    let record = |sec: u32, usec: u32, data: &[u8]| {
        let mut r = Vec::new();
        for w in [sec, usec, data.len() as u32, data.len() as u32] {
            r.extend_from_slice(&w.to_le_bytes());
        }
        r.extend_from_slice(data);
        r
    };
    let file = |records: &[Vec<u8>]| {
        let mut f = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&[0xff, 0xff, 0, 0, 1, 0, 0, 0]);
        for r in records {
            f.extend_from_slice(r);
        }
        f
    };
    let a = file(&[
        record(SIMTIME_SECOND, 25, b"arp"),
        record(1_700_000_000, 5, b"ip"),
    ]);
    let b = file(&[
        record(SIMTIME_SECOND, 0, b"arp"),
        record(1_700_000_000, 5, b"ip"),
    ]);
    assert!(same_output(&a, &b));
    // A capture's stamp, the data, the second, or a missing record still count.
    let c = file(&[
        record(SIMTIME_SECOND, 0, b"arp"),
        record(1_700_000_000, 6, b"ip"),
    ]);
    let d = file(&[
        record(SIMTIME_SECOND, 0, b"arq"),
        record(1_700_000_000, 5, b"ip"),
    ]);
    let e = file(&[
        record(SIMTIME_SECOND + 1, 0, b"arp"),
        record(1_700_000_000, 5, b"ip"),
    ]);
    let f = file(&[record(SIMTIME_SECOND, 0, b"arp")]);
    for other in [c, d, e, f] {
        assert!(!same_output(&a, &other));
    }
}

#[test]
fn canonical_router_matches_click() {
    let fix = fixtures();
    let dir = scratch("diff");
    let cases = cases();
    assert!(cases.len() >= 30, "cases.txt lost its cases");
    let handlers = handlers();
    let only = std::env::var("CANON_ONLY").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in &cases {
        if only
            .as_ref()
            .is_some_and(|o| !o.split(',').any(|n| n == case.name))
        {
            continue;
        }
        ran += 1;
        let out = dir.join(&case.name);
        let r = run(&config(case, &out), &handlers);
        if !r.status.success() {
            failures.push(format!(
                "{}: router failed: {}",
                case.name,
                String::from_utf8_lossy(&r.stderr)
            ));
            continue;
        }
        let want = |ext: &str| fs::read(fix.join(format!("{}.{ext}", case.name))).unwrap();
        for (what, click, ours) in [
            ("handlers", want("handlers"), &r.stdout),
            ("stderr", want("stderr"), &r.stderr),
        ] {
            if &click != ours {
                failures.push(format!(
                    "{}: {what} differ:\n--- click\n{}--- ours\n{}",
                    case.name,
                    String::from_utf8_lossy(&click),
                    String::from_utf8_lossy(ours)
                ));
            }
        }
        for side in SIDES {
            let f = format!("{}-{side}.pcap", case.name);
            let c = fs::read(fix.join(&f)).unwrap();
            match fs::read(dir.join(&f)) {
                Ok(o) if same_output(&c, &o) => {}
                Ok(o)
                    if REORDERED.contains(&(case.name.as_str(), side))
                        && c[..24] == o[..24]
                        && sorted_records(&c).is_some_and(|a| Some(a) == sorted_records(&o)) => {}
                Ok(o) => failures.push(format!(
                    "{}: {f}: {}",
                    case.name,
                    common::first_difference(&c, &o)
                )),
                Err(e) => failures.push(format!("{}: {f}: {e}", case.name)),
            }
        }
    }
    let _ = fs::remove_dir_all(&dir);
    assert!(ran > 0, "CANON_ONLY matched no case");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn bad_packets_all_accounted() {
    let dir = scratch("bad");
    let fix = fixtures();
    for k in 0..2 {
        let case = cases()
            .into_iter()
            .find(|c| c.name == format!("bad-packets-{k}"))
            .expect("bad-packets cases");
        let config = config(&case, &dir.join(&case.name))
            .replace(
                &format!("c{k}[0] -> ar{k}"),
                &format!("c{k}[0] -> k_arpq :: Counter -> ar{k}"),
            )
            .replace(
                &format!("c{k}[1] -> arpt"),
                &format!("c{k}[1] -> k_arpr :: Counter -> arpt"),
            )
            .replace(
                &format!("c{k}[2] -> Paint"),
                &format!("c{k}[2] -> k_ip :: Counter -> Paint"),
            )
            .replace(
                &format!("c{k}[3] -> Print"),
                &format!("c{k}[3] -> k_other :: Counter -> Print"),
            )
            .replace(
                "    -> rt :: StaticIPLookup",
                "    -> k_ok :: Counter -> rt :: StaticIPLookup",
            );
        let reads = [
            format!("fd{k}.count"),
            "k_arpq.count".into(),
            "k_arpr.count".into(),
            "k_ip.count".into(),
            "k_other.count".into(),
            "cip.drops".into(),
            "k_ok.count".into(),
        ];
        let r = run(&config, &reads);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let out = String::from_utf8(r.stdout).unwrap();
        let v: Vec<u64> = out
            .split("\n\n")
            .filter(|b| !b.trim().is_empty())
            .map(|b| b.lines().nth(1).unwrap().trim().parse().unwrap())
            .collect();
        let [frames, arpq, arpr, ip, other, drops, ok] = v[..] else {
            panic!("reads: {out}")
        };
        assert_eq!(frames, 96, "bad-packets.pcap has 96 frames");
        assert_eq!(arpq + arpr + ip + other, frames, "{out}");
        assert_eq!(ip, drops + ok, "{out}");
        let printed = String::from_utf8_lossy(&r.stderr)
            .lines()
            .filter(|l| l.starts_with(&format!("eth{k} non-IP:")))
            .count() as u64;
        assert_eq!(printed, other, "every non-IP frame is printed");
        let click =
            String::from_utf8(fs::read(fix.join(format!("{}.handlers", case.name))).unwrap())
                .unwrap();
        assert!(
            click.starts_with(&format!("cip.drops:\n{drops}\n")),
            "CheckIPHeader drops {drops}, Click's: {click}"
        );
        assert!(drops > 10 && ok > 0 && other > 10, "{out}");
    }
    let _ = fs::remove_dir_all(&dir);
}
