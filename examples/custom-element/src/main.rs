//! `custom-router`: a router binary of your own, with your own element
//! classes next to the library's.
//!
//! ```text
//! custom-router [-e CONFIG | FILE] [-h ELEMENT.HANDLER]...
//! ```
//!
//! Without a configuration it runs a small demonstration using
//! `LengthFilter`, `SetDSCP` and `RateMeter`. After the router stops it
//! prints each `-h` handler's value, like `click -h`.

use std::process::ExitCode;

use click_engine::{Router, RunOptions};

/// Runs when no configuration is given: 200,000 packets of two sizes,
/// split by length, one branch re-marked EF (DSCP 46), metered every 10 ms.
const DEMO: &str = r#"
    lf :: LengthFilter(64, 1500);
    src :: InfiniteSource(LENGTH 100, LIMIT 100000, BURST 32, STOP true)
        -> t :: Tee(2);
    t[0] -> Strip(60) -> lf;        // 40-byte packets
    t[1] -> lf;                     // 100-byte packets
    lf[0] -> SetDSCP(46) -> big :: RateMeter(10ms) -> Discard;
    lf[1] -> small :: Counter -> Discard;
"#;

const DEMO_HANDLERS: &[&str] = &[
    "lf.passed",
    "lf.rejected",
    "big.count",
    "big.intervals",
    "small.count",
];

fn main() -> ExitCode {
    let mut config: Option<(String, String)> = None;
    let mut handlers = Vec::new();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        match (args[i].as_str(), args.get(i + 1)) {
            ("-e", Some(text)) => {
                config = Some((text.clone(), "config".into()));
                i += 1;
            }
            ("-h", Some(h)) => {
                handlers.push(h.clone());
                i += 1;
            }
            (file, _) if !file.starts_with('-') => match std::fs::read_to_string(file) {
                Ok(text) => config = Some((text, file.to_string())),
                Err(e) => return fail(&format!("{file}: {e}")),
            },
            _ => return fail("usage: custom-router [-e CONFIG | FILE] [-h ELEMENT.HANDLER]..."),
        }
        i += 1;
    }
    let (text, name) = config.unwrap_or_else(|| {
        handlers.extend(DEMO_HANDLERS.iter().map(|h| h.to_string()));
        (DEMO.to_string(), "demo".into())
    });

    // 1. Parse and flatten the configuration text.
    let flat = match click_lang::load_str(&text, &name, &Default::default()) {
        Ok(flat) => flat,
        Err(d) => return fail(&d.render()),
    };
    // 2. The library's classes plus ours.
    let registry = custom_element_example::registry();
    // 3. Check and configure every element (all errors at once).
    let router = match Router::new(&flat, &registry) {
        Ok(router) => router,
        Err(errors) => return fail(&render(&errors)),
    };
    // 4. Run until a source's STOP (or a DriverManager) stops it.
    let opts = RunOptions {
        final_reads: handlers.clone(),
        ..RunOptions::default()
    };
    let report = match router.run(&opts) {
        Ok(report) => report,
        Err(errors) => return fail(&render(&errors)),
    };
    // 5. Print the handlers read after the run.
    let mut status = ExitCode::SUCCESS;
    for (h, value) in handlers.iter().zip(report.reads) {
        match value {
            Ok(v) => println!("{h}:\n{}", v.trim_end()),
            Err(e) => {
                eprintln!("{h}: {e}");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}

fn render(errors: &[click_lang::Diagnostic]) -> String {
    errors.iter().map(|d| format!("{d}\n")).collect()
}

fn fail(message: &str) -> ExitCode {
    eprint!("{}", message);
    if !message.ends_with('\n') {
        eprintln!();
    }
    ExitCode::FAILURE
}
