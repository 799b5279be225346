//! Conformance suite: runs Click's own clicktest files (from
//! `../shared/click-tests`, beside the workspace) against our `router`
//! binary, through shims named like Click's tools (`click`,
//! `click-flatten`, ...).
//!
//! Every file must appear in `tests/testie/manifest.txt` with a status:
//! `pass` (it must pass) or `n/a: <reason>` (not run by default).
//!
//! * `cargo test --test testie`: run the `pass` files; fail if one fails,
//!   or if a file is missing from the manifest.
//! * `TESTIE_ALL=1 cargo test --test testie -- --nocapture`: run every
//!   file and print a table of results; only `pass` files can fail the run.
//! * `TESTIE_ONLY=compound/overload-01[,tools/lexer-01] cargo test --test
//!   testie -- --nocapture`: run just those files, whatever their status,
//!   print details, and fail if one does not pass.
//! * `TESTIE_JOBS=N` (default 2), `TESTIE_TIMEOUT=SECONDS` (default 45),
//!   `TESTIE_KEEP=1` keeps the scratch directories, `TESTIE_PROVIDES="A B"`
//!   adds `click-buildtool provides` features for a trial run.

mod testie {
    pub mod format;
    pub mod matcher;
    pub mod runner;
}

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use testie::runner::{Env, Outcome};

/// Build features our implementation provides, for `click-buildtool
/// provides FEATURE` in `%require` sections. Click's names: `userlevel`
/// (the user-level driver), `int64` and `umultithread` (`-j N`). We do
/// not provide `linuxmodule` or Click's test-only elements (`NotifierTest`,
/// ...).
const PROVIDES: &[&str] = &[
    "userlevel",
    "int64",
    "umultithread",
    // Element classes some files ask for by name.
    "FromDump",
    "ToDump",
    "FromIPSummaryDump",
    "ToIPSummaryDump",
    "Truncate",
];

fn tests_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/click-tests"
    ))
}

fn manifest_path() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/testie/manifest.txt"
    ))
}

#[derive(Debug, Clone, PartialEq)]
enum Status {
    Pass,
    NotApplicable(String),
}

/// Parse the manifest: `NAME  pass` or `NAME  n/a: reason`; `#` comments.
fn parse_manifest(text: &str) -> Result<BTreeMap<String, Status>, String> {
    let mut m = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, status) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("manifest line {}: no status", i + 1))?;
        let status = status.trim();
        let st = if status == "pass" {
            Status::Pass
        } else if let Some(r) = status.strip_prefix("n/a:") {
            if r.trim().is_empty() {
                return Err(format!("manifest line {}: n/a needs a reason", i + 1));
            }
            Status::NotApplicable(r.trim().to_string())
        } else {
            return Err(format!("manifest line {}: bad status '{status}'", i + 1));
        };
        if m.insert(name.to_string(), st).is_some() {
            return Err(format!("manifest line {}: duplicate entry {name}", i + 1));
        }
    }
    Ok(m)
}

/// All test files under `dir`, as names like `compound/overload-01`.
fn list_tests(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = fs::read_dir(d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(base, &p, out);
            } else if let Some(ext) = p.extension().and_then(|e| e.to_str()) {
                if ext == "clicktest" || ext == "testie" {
                    let rel = p.strip_prefix(base).unwrap().with_extension("");
                    out.push(rel.to_string_lossy().into_owned());
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

fn file_for(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(format!("{name}.clicktest"));
    if p.exists() {
        p
    } else {
        dir.join(format!("{name}.testie"))
    }
}

/// Run every test of one file (a file may hold several, split by `%eot`).
fn run_file(env: &Env, dir: &Path, name: &str) -> Outcome {
    let path = file_for(dir, name);
    let data = match fs::read(&path) {
        Ok(d) => d,
        Err(e) => return Outcome::Fail(format!("{}: {e}", path.display())),
    };
    let tests = testie::format::parse(&format!("{name}.clicktest"), &data);
    let mut fails = Vec::new();
    let mut skip = None;
    for (i, t) in tests.iter().enumerate() {
        let label = if tests.len() > 1 {
            format!("<{}> ", i + 1)
        } else {
            String::new()
        };
        if !t.diagnostics.is_empty() {
            eprintln!("{}: {}", t.name, t.diagnostics.join("\n  "));
        }
        match env.run(t) {
            Outcome::Pass => {}
            Outcome::Skipped(r) => skip = Some(format!("{label}{r}")),
            Outcome::Fail(r) => fails.push(format!("{label}{r}")),
        }
    }
    if !fails.is_empty() {
        Outcome::Fail(fails.join("\n"))
    } else if let Some(s) = skip {
        Outcome::Skipped(s)
    } else {
        Outcome::Pass
    }
}

fn make_env(tag: &str) -> Env {
    let scratch = std::env::temp_dir().join(format!("router-testie-{}-{tag}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    // TESTIE_PROVIDES="FromIPSummaryDump ..." adds features for a trial run
    let extra = std::env::var("TESTIE_PROVIDES").unwrap_or_default();
    let mut provides: Vec<&str> = PROVIDES.to_vec();
    provides.extend(extra.split_whitespace());
    // TESTIE_ROUTER=PATH runs another build (a release one for the files
    // that time whole runs).
    let router = std::env::var_os("TESTIE_ROUTER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_router")));
    let mut env =
        Env::new(&router, scratch, &provides).expect("cannot create the testie scratch directory");
    if let Some(t) = std::env::var("TESTIE_TIMEOUT")
        .ok()
        .and_then(|t| t.parse().ok())
    {
        env.timeout = Duration::from_secs(t);
    }
    env.keep = std::env::var_os("TESTIE_KEEP").is_some();
    env
}

fn run_many(env: &Env, dir: &Path, names: &[String]) -> Vec<(String, Outcome)> {
    let jobs: usize = std::env::var("TESTIE_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(2)
        .max(1);
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(name) = names.get(i) else { break };
                let out = run_file(env, dir, name);
                results.lock().unwrap().push((name.clone(), out));
            });
        }
    });
    let mut r = results.into_inner().unwrap();
    r.sort_by(|a, b| a.0.cmp(&b.0));
    r
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

#[test]
fn conformance() {
    let dir = tests_dir();
    assert!(
        dir.is_dir(),
        "Click's tests are missing: expected them at {} (shared/click-tests beside the workspace)",
        dir.display()
    );
    let manifest_text =
        fs::read_to_string(manifest_path()).expect("read tests/testie/manifest.txt");
    let manifest = parse_manifest(&manifest_text).unwrap_or_else(|e| panic!("{e}"));
    let files = list_tests(&dir);
    assert!(
        !files.is_empty(),
        "no clicktest files found in {}",
        dir.display()
    );

    let unlisted: Vec<&String> = files
        .iter()
        .filter(|f| !manifest.contains_key(*f))
        .collect();
    let stale: Vec<&String> = manifest.keys().filter(|k| !files.contains(k)).collect();
    assert!(
        unlisted.is_empty() && stale.is_empty(),
        "tests/testie/manifest.txt is out of date:\n  not in the manifest: {unlisted:?}\n  \
         in the manifest but not in {}: {stale:?}",
        dir.display()
    );

    let env = make_env("conf");
    let only: Option<Vec<String>> = std::env::var("TESTIE_ONLY").ok().map(|s| {
        s.split(',')
            .map(|x| x.trim().trim_end_matches(".clicktest").to_string())
            .filter(|x| !x.is_empty())
            .collect()
    });
    let all = std::env::var_os("TESTIE_ALL").is_some_and(|v| v != "0");

    if let Some(only) = only {
        for o in &only {
            assert!(files.contains(o), "TESTIE_ONLY: no test file named {o}");
        }
        let results = run_many(&env, &dir, &only);
        let mut bad = Vec::new();
        for (name, out) in &results {
            match out {
                Outcome::Pass => println!("{name}: pass"),
                Outcome::Skipped(r) => {
                    println!("{name}: skipped (does not apply): {r}");
                    bad.push(name.clone());
                }
                Outcome::Fail(r) => {
                    println!("{name}: FAIL\n  {}", r.replace('\n', "\n  "));
                    bad.push(name.clone());
                }
            }
        }
        cleanup(&env);
        assert!(bad.is_empty(), "did not pass: {bad:?}");
        return;
    }

    let to_run: Vec<String> = files
        .iter()
        .filter(|f| all || manifest[*f] == Status::Pass)
        .cloned()
        .collect();
    let results = run_many(&env, &dir, &to_run);
    cleanup(&env);

    let mut failures = Vec::new();
    let mut newly_passing = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    if all {
        println!("{:<44} {:<8} {:<6} detail", "test", "manifest", "result");
    }
    for (name, out) in &results {
        let st = &manifest[name];
        *counts.entry(out.label()).or_default() += 1;
        if all {
            let m = match st {
                Status::Pass => "pass",
                Status::NotApplicable(_) => "n/a",
            };
            let detail = match out {
                Outcome::Pass => String::new(),
                Outcome::Skipped(r) | Outcome::Fail(r) => first_line(r).to_string(),
            };
            println!("{name:<44} {m:<8} {:<6} {detail}", out.label());
        }
        match (st, out) {
            (Status::Pass, Outcome::Pass) => {}
            (Status::Pass, Outcome::Skipped(r)) => failures.push(format!(
                "{name}: listed as pass, but a %require failed (the test does not run here): {r}"
            )),
            (Status::Pass, Outcome::Fail(r)) => failures.push(format!("{name}: {r}")),
            (Status::NotApplicable(_), Outcome::Pass) => newly_passing.push(name.clone()),
            _ => {}
        }
    }
    println!(
        "testie: ran {} files: {} passed, {} failed, {} skipped by %require",
        results.len(),
        counts.get("pass").copied().unwrap_or(0),
        counts.get("FAIL").copied().unwrap_or(0),
        counts.get("skip").copied().unwrap_or(0)
    );
    if !newly_passing.is_empty() {
        println!(
            "testie: these n/a files pass now; consider marking them `pass` in \
             tests/testie/manifest.txt and docs/CONFORMANCE.md: {newly_passing:?}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} conformance test(s) listed as `pass` did not pass:\n\n{}\n",
        failures.len(),
        failures.join("\n\n")
    );
}

fn cleanup(env: &Env) {
    if !env.keep {
        let _ = fs::remove_dir_all(&env.scratch);
    }
}

#[test]
fn manifest_parser() {
    let m = parse_manifest("# c\na/b  pass\nc/d n/a: needs X\n").unwrap();
    assert_eq!(m["a/b"], Status::Pass);
    assert_eq!(m["c/d"], Status::NotApplicable("needs X".into()));
    assert!(parse_manifest("a/b maybe\n").is_err());
    assert!(parse_manifest("a/b n/a:\n").is_err());
    assert!(parse_manifest("a/b pass\na/b pass\n").is_err());
}

/// The runner end to end on synthetic files: a passing test, one whose
/// output differs (must fail), one whose script fails, one whose
/// requirement fails (skipped, never counted as a pass).
#[test]
fn runner_self_test() {
    let env = make_env("self");
    let run = |src: &str| {
        let t = &testie::format::parse("synthetic.clicktest", src.as_bytes())[0];
        env.run(t)
    };
    let good = "%script\nprintf 'hello 42\\n' ; cat IN >&2\n%file IN\n# noise\nerr line\n%expect stdout\nhello {{\\d+}}\n%expect stderr\nerr line\n%ignorex stderr\n#.*\n";
    assert_eq!(run(good), Outcome::Pass);
    let differs = good.replace("hello {{", "goodbye {{");
    match run(&differs) {
        Outcome::Fail(r) => assert!(r.contains("standard output"), "{r}"),
        o => panic!("expected a failure, got {o:?}"),
    }
    match run("%script\ntrue\nfalse\ntrue\n") {
        Outcome::Fail(r) => assert!(
            r.contains("synthetic.clicktest:3: failure at 'false'"),
            "{r}"
        ),
        o => panic!("expected a failure, got {o:?}"),
    }
    match run("%require\nclick-buildtool provides linuxmodule\n%script\ntrue\n") {
        Outcome::Skipped(r) => assert!(r.contains("linuxmodule"), "{r}"),
        o => panic!("expected a skip, got {o:?}"),
    }
    assert_eq!(
        run("%require\nclick-buildtool provides userlevel\n%script\ntrue\n"),
        Outcome::Pass
    );
    // stdin, files in subdirectories, the `click` shim reaches our binary
    let shim = "%script\ncommand -v click | grep -q bin/click\ncat sub/F - > OUT\n%stdin\nb\n%file sub/F\na\n%expect OUT\na\nb\n";
    assert_eq!(run(shim), Outcome::Pass);
    cleanup(&env);

    // a hung script times out (and its process group is killed)
    let mut quick = make_env("timeout");
    quick.timeout = Duration::from_secs(1);
    let t = &testie::format::parse("hang.clicktest", b"%script\nsleep 20\n")[0];
    match quick.run(t) {
        Outcome::Fail(r) => assert!(r.contains("timed out after 1 s"), "{r}"),
        o => panic!("expected a timeout, got {o:?}"),
    }
    cleanup(&quick);
}

const DOC_BEGIN: &str = "<!-- testie-table-begin (generated from tests/testie/manifest.txt) -->";
const DOC_END: &str = "<!-- testie-table-end -->";

/// The status table of docs/CONFORMANCE.md, rendered from the manifest.
fn render_doc_table(manifest: &BTreeMap<String, Status>) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut rows = String::new();
    for (name, st) in manifest {
        let (s, why) = match st {
            Status::Pass => ("pass".to_string(), String::new()),
            Status::NotApplicable(r) => ("n/a".to_string(), r.replace('|', "\\|")),
        };
        let group = match st {
            Status::Pass => "pass".to_string(),
            Status::NotApplicable(r) => {
                let r = r.as_str();
                if r.starts_with("needs lang+check") {
                    "n/a: needs lang+check".into()
                } else if r.starts_with("needs lang") {
                    "n/a: needs lang".into()
                } else if r.starts_with("needs runtime") {
                    "n/a: needs runtime".into()
                } else if r.starts_with("wall clock") {
                    "n/a: wall clock (passes on a release build)".into()
                } else if r.starts_with("batch order") || r.starts_with("reads Click's internal") {
                    "n/a: a deliberate difference (batch order, Click's internal dumps)".into()
                } else {
                    "n/a: out of scope (kernel, threads, tools, C++ unit tests, %require)".into()
                }
            }
        };
        *counts.entry(group).or_default() += 1;
        rows.push_str(&format!("| `{name}` | {s} | {why} |\n"));
    }
    let mut out = String::new();
    out.push_str(DOC_BEGIN);
    out.push_str("\n\n| status | files |\n| --- | ---: |\n");
    for (g, n) in &counts {
        out.push_str(&format!("| {g} | {n} |\n"));
    }
    out.push_str(&format!("| total | {} |\n\n", manifest.len()));
    out.push_str("| test | status | what it needs |\n| --- | --- | --- |\n");
    out.push_str(&rows);
    out.push('\n');
    out.push_str(DOC_END);
    out
}

/// docs/CONFORMANCE.md's table must match the manifest;
/// `TESTIE_BLESS=1` rewrites it.
#[test]
fn conformance_doc_in_sync() {
    let manifest_text =
        fs::read_to_string(manifest_path()).expect("read tests/testie/manifest.txt");
    let manifest = parse_manifest(&manifest_text).unwrap_or_else(|e| panic!("{e}"));
    let doc_path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/CONFORMANCE.md"));
    let doc = fs::read_to_string(&doc_path).expect("read docs/CONFORMANCE.md");
    let (Some(b), Some(e)) = (doc.find(DOC_BEGIN), doc.find(DOC_END)) else {
        panic!("docs/CONFORMANCE.md lacks the generated-table markers");
    };
    let current = &doc[b..e + DOC_END.len()];
    let want = render_doc_table(&manifest);
    if current == want {
        return;
    }
    if std::env::var_os("TESTIE_BLESS").is_some() {
        let new = format!("{}{}{}", &doc[..b], want, &doc[e + DOC_END.len()..]);
        fs::write(&doc_path, new).expect("write docs/CONFORMANCE.md");
        return;
    }
    panic!(
        "docs/CONFORMANCE.md is out of sync with tests/testie/manifest.txt; \
         run `TESTIE_BLESS=1 cargo test --test testie conformance_doc` and commit"
    );
}

/// Every corpus file parses without diagnostics and all its regexps
/// compile with our regex engine (no binary needed).
#[test]
fn corpus_parses_and_patterns_compile() {
    let dir = tests_dir();
    assert!(
        dir.is_dir(),
        "Click's tests are missing: expected them at {}",
        dir.display()
    );
    let mut problems = Vec::new();
    let mut count = 0;
    for name in list_tests(&dir) {
        let data = fs::read(file_for(&dir, &name)).unwrap();
        for t in testie::format::parse(&format!("{name}.clicktest"), &data) {
            count += 1;
            problems.extend(t.diagnostics.iter().cloned());
            problems.extend(testie::matcher::check_patterns(&t));
            if t.script.is_empty() {
                problems.push(format!("{name}: no %script"));
            }
        }
    }
    assert!(count >= 194, "only {count} tests parsed");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_tools_the_passing_files_use_are_installed() {
    // A missing tool would show only as a file's unexpected output; say
    // which tool, and where CI gets it.
    let tools = [
        ("perl", "perl"),
        ("sed", "sed"),
        ("grep", "grep"),
        (
            "nc",
            "netcat-openbsd, for the ControlSocket files (handlers/privatehandler-01, userlevel/ControlSocket-llrpc-01, userlevel/uhotswap-01)",
        ),
    ];
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(tool, _)| {
            !std::process::Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(|(_, package)| *package)
        .collect();
    assert!(
        missing.is_empty(),
        "install {} (.ci/run does, as root with apt-get)",
        missing.join(", ")
    );
}
