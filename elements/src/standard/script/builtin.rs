//! Script's built-in read handlers with parameters: arithmetic,
//! comparisons, Booleans, `sprintf`, byte order, and small utilities
//! (Click's `arithmetic_handler`, `compare_handler`, `basic_handler`...).
//!
//! Each takes the parameter text and returns the value, or an error
//! message. None of them touches the script's state.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use click_engine::args::{pop_word, split_words, unquote, FromArg};
use click_engine::signals;

/// The names of the built-in handlers, as `Handler` entries list them.
pub(crate) const NAMES: &[&str] = &[
    "add", "sub", "mul", "div", "idiv", "min", "max", "mod", "rem", "neg", "abs", "eq", "ne", "lt",
    "gt", "le", "ge", "not", "and", "or", "nand", "nor", "if", "in", "first", "sprintf", "random",
    "now", "length", "unquote", "htons", "htonl", "ntohs", "ntohl", "cat", "kill",
];

/// Calls built-in handler `name` with `params`; `None` if there is none.
pub(crate) fn call(name: &str, params: &str) -> Option<Result<String, String>> {
    Some(match name {
        "add" | "sub" | "mul" | "div" | "idiv" | "min" | "max" => arithmetic(name, params),
        "mod" | "rem" => modrem(name, params),
        "neg" | "abs" => negabs(name, params),
        "eq" | "ne" | "lt" | "gt" | "le" | "ge" => compare(name, params),
        "not" => parse_bool(params.trim())
            .map(|b| unparse_bool(!b))
            .ok_or_else(|| "syntax error".to_string()),
        "and" | "or" | "nand" | "nor" => logic(name, params),
        "if" => if_handler(params),
        "in" => {
            let (word, mut rest) = pop_word(params);
            let word = unquote(&word);
            let mut answer = false;
            while !word.is_empty() && !rest.is_empty() && !answer {
                let (w, r) = pop_word(&rest);
                answer = word == unquote(&w);
                rest = r;
            }
            Ok(unparse_bool(answer))
        }
        "first" => Ok(pop_word(params).0),
        "sprintf" => sprintf(params),
        "random" => random(params),
        "now" => {
            let d = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            Ok(unparse_timestamp(d.as_nanos() as u64))
        }
        "length" => Ok(params.len().to_string()),
        "unquote" => Ok(unquote(params)),
        "htons" | "ntohs" => int32(params).map(|x| (x as u16).swap_bytes().to_string()),
        "htonl" | "ntohl" => int32(params).map(|x| ((x as u32).swap_bytes() as i32).to_string()),
        "cat" => {
            let file = unquote(params.trim());
            if file.is_empty() {
                Err("bad FILE".to_string())
            } else {
                std::fs::read(&file)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .map_err(|e| format!("{file}: {e}"))
            }
        }
        "kill" => kill(params),
        _ => return None,
    })
}

/// `kill SIGNAL PID...`: sends SIGNAL (a name such as `USR1`, or a number;
/// 0 only checks that the processes exist) to each process; `kill PID...`
/// sends TERM. Returns nothing.
fn kill(params: &str) -> Result<String, String> {
    let mut words = split_words(params);
    let parse = |w: &String| match w.as_str() {
        "0" => Some(0),
        w => signals::parse_signal(w),
    };
    let signal = match words.first().map(parse) {
        Some(Some(s)) if !words[0].chars().all(|c| c.is_ascii_digit()) || words.len() > 1 => {
            words.remove(0);
            s
        }
        _ => libc::SIGTERM,
    };
    if words.is_empty() {
        return Err("expected process IDs".into());
    }
    for w in &words {
        let pid = i32::from_arg(w).map_err(|_| format!("bad process ID '{w}'"))?;
        signals::send_signal(signal, pid)?;
    }
    Ok(String::new())
}

/// Click's Boolean syntax.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    bool::from_arg(s).ok()
}

pub(crate) fn unparse_bool(b: bool) -> String {
    if b { "true" } else { "false" }.to_string()
}

fn int(s: &str) -> Option<i64> {
    i64::from_arg(s).ok()
}

fn double(s: &str) -> Option<f64> {
    f64::from_arg(s).ok().or_else(|| int(s).map(|i| i as f64))
}

fn int32(s: &str) -> Result<i64, String> {
    let x = int(s.trim()).ok_or("syntax error")?;
    Ok(x as i32 as i64)
}

/// Formats a real number like C's `%.12g` (Click's `String(double)`).
pub(crate) fn format_double(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let sci = format!("{x:.11e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..12).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.abs())
    } else {
        let decimals = (11 - exp).max(0) as usize;
        trim(&format!("{x:.decimals$}"))
    }
}

fn arithmetic(op: &str, params: &str) -> Result<String, String> {
    let additive = matches!(op, "add" | "sub");
    let mut acc: i64 = if additive { 0 } else { 1 };
    let mut dacc: f64 = acc as f64;
    let mut use_d = matches!(op, "div" | "idiv");
    let mut first = true;
    for word in split_words(params) {
        let iv = if use_d { None } else { int(&word) };
        if !use_d && iv.is_none() {
            use_d = true;
            dacc = acc as f64;
        }
        if use_d {
            let d = double(&word).ok_or("expected list of numbers")?;
            dacc = if first {
                d
            } else {
                match op {
                    "add" => dacc + d,
                    "sub" => dacc - d,
                    "min" => dacc.min(d),
                    "max" => dacc.max(d),
                    "mul" => dacc * d,
                    _ => dacc / d,
                }
            };
        } else if let Some(a) = iv {
            acc = if first {
                a
            } else {
                match op {
                    "add" => acc.wrapping_add(a),
                    "sub" => acc.wrapping_sub(a),
                    "min" => acc.min(a),
                    "max" => acc.max(a),
                    _ => acc.wrapping_mul(a),
                }
            };
        }
        first = false;
    }
    Ok(if op == "idiv" {
        if dacc.is_finite() {
            (dacc as i64).to_string()
        } else {
            return Err("division by zero".into());
        }
    } else if use_d {
        format_double(dacc)
    } else {
        acc.to_string()
    })
}

fn two_words(params: &str) -> Result<(String, String), String> {
    let words = split_words(params);
    match <[String; 2]>::try_from(words) {
        Ok([a, b]) => Ok((a, b)),
        Err(_) => Err("expected two numbers".into()),
    }
}

fn modrem(op: &str, params: &str) -> Result<String, String> {
    let (a, b) = two_words(params)?;
    match (int(&a), int(&b)) {
        (Some(_), Some(0)) => Err("division by zero".into()),
        (Some(a), Some(b)) => Ok(a.wrapping_rem(b).to_string()),
        _ if op == "rem" => match (double(&a), double(&b)) {
            (Some(a), Some(b)) => Ok(format_double(a % b)),
            _ => Err("expected two numbers".into()),
        },
        _ => Err("expected two numbers".into()),
    }
}

fn negabs(op: &str, params: &str) -> Result<String, String> {
    let s = params.trim();
    if let Some(x) = int(s) {
        return Ok(if op == "neg" || x < 0 {
            x.wrapping_neg()
        } else {
            x
        }
        .to_string());
    }
    let x = double(s).ok_or("expected one number")?;
    Ok(format_double(if op == "neg" { -x } else { x.abs() }))
}

fn compare(op: &str, params: &str) -> Result<String, String> {
    use std::cmp::Ordering::*;
    let (a, b) = two_words(params)?;
    let ord = match (int(&a), int(&b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => match (double(&a), double(&b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => Some(unquote(&a).as_bytes().cmp(unquote(&b).as_bytes())),
        },
    };
    let r = match (op, ord) {
        (_, None) => op == "ne",
        ("eq", Some(o)) => o == Equal,
        ("ne", Some(o)) => o != Equal,
        ("lt", Some(o)) => o == Less,
        ("gt", Some(o)) => o == Greater,
        ("le", Some(o)) => o != Greater,
        (_, Some(o)) => o != Less,
    };
    Ok(unparse_bool(r))
}

fn logic(op: &str, params: &str) -> Result<String, String> {
    let zero = matches!(op, "and" | "nand");
    let mut value = zero;
    for w in split_words(params) {
        if value != zero {
            break;
        }
        let x = parse_bool(&w).ok_or("syntax error")?;
        value = if zero { value && x } else { value || x };
    }
    if matches!(op, "nand" | "nor") {
        value = !value;
    }
    Ok(unparse_bool(value))
}

fn if_handler(params: &str) -> Result<String, String> {
    let (c, rest) = pop_word(params);
    let c = parse_bool(&c).ok_or("syntax error")?;
    let (yes, rest) = pop_word(&rest);
    Ok(if c { yes } else { pop_word(&rest).0 })
}

/// Click's `Timestamp::unparse`: six decimals, nine when the time is not
/// a whole number of microseconds.
pub(crate) fn unparse_timestamp(ns: u64) -> String {
    let (sec, sub) = (ns / 1_000_000_000, ns % 1_000_000_000);
    if sub % 1000 == 0 {
        format!("{sec}.{:06}", sub / 1000)
    } else {
        format!("{sec}.{sub:09}")
    }
}

fn random(params: &str) -> Result<String, String> {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ seed;
    // splitmix64 finalizer
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    let words = split_words(params);
    let n = |w: &String| u32::from_arg(w).map_err(|_| "bad N".to_string());
    match words.as_slice() {
        [] => Ok(((x >> 33) as u32 & 0x7FFF_FFFF).to_string()),
        [n1] => {
            let n1 = n(n1)? as u64;
            if n1 == 0 {
                return Err("bad N".into());
            }
            Ok((x % n1).to_string())
        }
        [n1, n2] => {
            let (a, b) = (n(n1)? as u64, n(n2)? as u64);
            if b < a {
                return Err("bad N".into());
            }
            Ok((a + x % (b - a + 1)).to_string())
        }
        _ => Err("too many arguments".into()),
    }
}

/// Click's `sprintf`: a format string (first word, unquoted) and the
/// words to format: `%d %i %u %x %X %o %s %%` with flags, width and
/// precision (`*` takes them from the words).
fn sprintf(params: &str) -> Result<String, String> {
    let (format, mut rest) = pop_word(params);
    let format = unquote(&format);
    let mut next = || {
        let (w, r) = pop_word(&rest);
        rest = r;
        w
    };
    let f = format.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let mut lit = 0;
    while i < f.len() {
        if f[i] != b'%' {
            i += 1;
            continue;
        }
        out.push_str(&format[lit..i]);
        i += 1;
        let (mut left, mut zero, mut plus, mut space, mut alt) =
            (false, false, false, false, false);
        while i < f.len() && matches!(f[i], b'0' | b'#' | b'-' | b' ' | b'+') {
            match f[i] {
                b'0' => zero = true,
                b'#' => alt = true,
                b'-' => left = true,
                b' ' => space = true,
                _ => plus = true,
            }
            i += 1;
        }
        let mut width = 0usize;
        if i < f.len() && f[i] == b'*' {
            let w: i64 = int(&next()).ok_or("syntax error")?;
            if w < 0 {
                left = true;
            }
            width = w.unsigned_abs().min(4096) as usize;
            i += 1;
        } else {
            while i < f.len() && f[i].is_ascii_digit() {
                width = (width * 10 + (f[i] - b'0') as usize).min(4096);
                i += 1;
            }
        }
        let mut precision: Option<usize> = None;
        if i < f.len() && f[i] == b'.' {
            i += 1;
            let mut p = 0usize;
            if i < f.len() && f[i] == b'*' {
                let w = int(&next()).filter(|&w| w >= 0).ok_or("syntax error")?;
                p = (w as usize).min(4096);
                i += 1;
            } else {
                while i < f.len() && f[i].is_ascii_digit() {
                    p = (p * 10 + (f[i] - b'0') as usize).min(4096);
                    i += 1;
                }
            }
            precision = Some(p);
        }
        let mut short = false;
        while i < f.len() && matches!(f[i], b'h' | b'l' | b'L' | b'q') {
            short = f[i] == b'h';
            i += 1;
        }
        let conv = *f.get(i).ok_or("syntax error")?;
        let (sign, body, numeric) = match conv {
            b'd' | b'i' => {
                let mut v = int(&next()).ok_or("syntax error")?;
                if short {
                    v = v as i16 as i64;
                }
                let sign = if v < 0 {
                    "-"
                } else if plus {
                    "+"
                } else if space {
                    " "
                } else {
                    ""
                };
                (sign, v.unsigned_abs().to_string(), true)
            }
            b'u' | b'x' | b'X' | b'o' => {
                let w = next();
                let mut v = int(&w)
                    .map(|v| v as u64)
                    .or_else(|| u64::from_arg(&w).ok())
                    .ok_or("syntax error")?;
                if short {
                    v = v as u16 as u64;
                }
                let body = match conv {
                    b'u' => v.to_string(),
                    b'x' => format!("{}{v:x}", if alt && v != 0 { "0x" } else { "" }),
                    b'X' => format!("{}{v:X}", if alt && v != 0 { "0X" } else { "" }),
                    _ => format!("{}{v:o}", if alt { "0" } else { "" }),
                };
                ("", body, true)
            }
            b's' => {
                let mut s = unquote(&next());
                if let Some(p) = precision {
                    s = s.chars().take(p).collect();
                }
                ("", s, false)
            }
            b'%' => ("", "%".to_string(), false),
            _ => return Err("syntax error".into()),
        };
        let mut body = body;
        if numeric {
            if let Some(p) = precision {
                if body.len() < p {
                    body = "0".repeat(p - body.len()) + &body;
                }
            }
        }
        let len = sign.len() + body.chars().count();
        let pad = width.saturating_sub(len);
        if left {
            out.push_str(sign);
            out.push_str(&body);
            out.push_str(&" ".repeat(pad));
        } else if zero && numeric && precision.is_none() {
            out.push_str(sign);
            out.push_str(&"0".repeat(pad));
            out.push_str(&body);
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(sign);
            out.push_str(&body);
        }
        i += 1;
        lit = i;
    }
    if !rest.is_empty() {
        return Err("syntax error".into());
    }
    out.push_str(&format[lit.min(format.len())..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(name: &str, params: &str) -> String {
        call(name, params).unwrap().unwrap()
    }

    #[test]
    fn arithmetic_matches_click_script_04() {
        assert_eq!(ok("add", "1 2 3"), "6");
        assert_eq!(ok("sub", "10 2 2"), "6");
        assert_eq!(ok("min", "10 6 20"), "6");
        assert_eq!(ok("max", "-1 6 3"), "6");
        assert_eq!(ok("mul", "1 2 3"), "6");
        assert_eq!(ok("div", "75 2.5 5"), "6");
        assert_eq!(ok("idiv", "60 2 5"), "6");
        assert_eq!(ok("htonl", &ok("ntohl", "6")), "6");
        assert_eq!(ok("htons", &ok("ntohs", "6")), "6");
        assert_eq!(ok("div", "1 3"), "0.333333333333");
        assert_eq!(ok("add", "0.5 1"), "1.5");
    }

    #[test]
    fn comparisons_and_booleans() {
        assert_eq!(ok("eq", "10 0xA"), "true");
        assert_eq!(ok("le", "9 8"), "false");
        assert_eq!(ok("eq", "10x 10x"), "true");
        assert_eq!(ok("lt", "1.5 2"), "true");
        assert_eq!(ok("not", "false"), "true");
        assert_eq!(ok("if", "true a b"), "a");
        assert_eq!(ok("if", "false a b"), "b");
        assert_eq!(ok("and", "true false"), "false");
        assert_eq!(ok("nor", "false false"), "true");
        assert_eq!(ok("in", "b a b c"), "true");
        assert!(call("eq", "1").unwrap().is_err());
        assert!(call("not", "maybe").unwrap().is_err());
        assert!(call("nosuch", "").is_none());
    }

    #[test]
    fn sprintf_formats_like_c() {
        assert_eq!(ok("sprintf", "\"%05x\" 127"), "0007f");
        assert_eq!(
            ok("sprintf", "\"%d-%s|%-4d|%%\" -3 \"a b\" 7"),
            "-3-a b|7   |%"
        );
        assert_eq!(ok("sprintf", "%*d 4 5"), "   5");
        assert!(call("sprintf", "%d x").unwrap().is_err());
        assert!(call("sprintf", "%d 1 2").unwrap().is_err());
        assert!(call("sprintf", "%").unwrap().is_err());
    }

    #[test]
    fn kill_takes_a_signal_and_pids() {
        let err = |p: &str| call("kill", p).unwrap().unwrap_err();
        assert_eq!(err(""), "expected process IDs");
        assert_eq!(err("USR1"), "expected process IDs");
        assert_eq!(err("USR1 x"), "bad process ID 'x'");
        // Process groups and every process are refused.
        assert_eq!(err("0"), "kill 0: not a process ID");
        assert_eq!(err("HUP 0"), "kill 0: not a process ID");
        assert_eq!(err("TERM -1"), "kill -1: not a process ID");
        // Signal 0 checks that a process exists: this one does.
        let me = std::process::id().to_string();
        assert_eq!(call("kill", &format!("0 {me}")).unwrap(), Ok(String::new()));
    }

    #[test]
    fn nothing_panics_on_odd_input() {
        // Not `kill`: it acts on the system (see `kill_takes_a_signal_and_pids`).
        for name in NAMES.iter().filter(|&&n| n != "kill") {
            for p in [
                "",
                " ",
                "%",
                "\"",
                "1 0",
                "0 0",
                "-9223372036854775808 -1",
                "x y z",
                "%*.*d",
            ] {
                let _ = call(name, p);
            }
        }
        assert!(call("mod", "1 0").unwrap().is_err());
        assert_eq!(ok("random", "5 5"), "5");
    }
}
