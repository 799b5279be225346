//! Variable substitution and the small pieces of Click's argument splitting
//! the flattener needs (compound arguments, `define`, `require`).
//!
//! These follow Click's `cp_expand` and `cp_assign_arguments`; splitting
//! (`cp_argvec`, `cp_spacevec`) is [`crate::args`]'s, the same elements use.

/// A stack of variable frames, innermost last (Click's VariableEnvironment).
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub frames: Vec<Vec<(String, String)>>,
}

impl Env {
    pub fn lookup(&self, name: &str) -> Option<&str> {
        self.frames
            .iter()
            .rev()
            .find_map(|f| f.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()))
    }

    /// The environment a compound defined `depth` frames deep starts from:
    /// lexical scoping of formals.
    pub fn prefix(&self, depth: usize) -> Env {
        Env {
            frames: self.frames[..depth.min(self.frames.len())].to_vec(),
        }
    }
}

/// Substitutes `$x`, `${x}`, `${x-default}` and `${x[i]}` in `config`.
/// Nothing is substituted inside single quotes; inside double quotes values
/// are escaped so the quoted string stays intact. Unknown variables are
/// left as written.
pub fn expand(config: &str, env: &Env) -> String {
    if !config.contains('$') {
        return config.to_string();
    }
    let b = config.as_bytes();
    let mut out = String::with_capacity(config.len());
    let mut copied = 0;
    let mut quote = 0u8;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if quote == b'"' => i += 1,
            q @ (b'\'' | b'"') if quote == 0 => quote = q,
            q @ (b'\'' | b'"') if quote == q => quote = 0,
            b'/' if quote == 0 && matches!(b.get(i + 1), Some(b'/' | b'*')) => {
                i = skip_comment(b, i) - 1;
            }
            b'$' if quote != b'\'' => {
                if let Some((end, value)) = variable_at(config, i, env) {
                    out.push_str(&config[copied..i]);
                    out.push_str(&if quote == b'"' {
                        escape_in_quotes(&value)
                    } else {
                        value
                    });
                    copied = end;
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&config[copied.min(config.len())..]);
    out
}

/// The variable reference starting with `$` at `i`, if it names something:
/// its end and its value.
fn variable_at(s: &str, i: usize, env: &Env) -> Option<(usize, String)> {
    let b = s.as_bytes();
    if b.get(i + 1) == Some(&b'{') {
        let close = i + 2 + s[i + 2..].find('}')?;
        let mut inner = s[i + 2..close].to_string();
        if inner.contains('$') {
            inner = expand(&inner, env);
        }
        return braced_value(&inner, env).map(|v| (close + 1, v));
    }
    let end = i
        + 1
        + s[i + 1..]
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
            .count();
    if end == i + 1 {
        return None;
    }
    env.lookup(&s[i + 1..end]).map(|v| (end, v.to_string()))
}

/// `name`, `name-default` or `name[index]` inside `${...}`.
fn braced_value(inner: &str, env: &Env) -> Option<String> {
    if let Some((name, index)) = inner.strip_suffix(']').and_then(|x| x.split_once('[')) {
        let value = env.lookup(name)?;
        let words = crate::args::split_words(value);
        let index: usize = index.trim().parse().ok()?;
        return Some(words.get(index).cloned().unwrap_or_default());
    }
    match inner.split_once('-') {
        Some((name, default)) => Some(env.lookup(name).unwrap_or(default).to_string()),
        None => env.lookup(inner).map(str::to_string),
    }
}

fn escape_in_quotes(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Index just past the comment starting at `i` (`//` or `/*`).
fn skip_comment(b: &[u8], i: usize) -> usize {
    if b.get(i + 1) == Some(&b'/') {
        b[i..]
            .iter()
            .position(|&c| c == b'\n' || c == b'\r')
            .map_or(b.len(), |p| i + p)
    } else {
        b[i + 2..]
            .windows(2)
            .position(|w| w == b"*/")
            .map_or(b.len(), |p| i + 2 + p + 2)
    }
}

/// Assigns compound arguments to formals (Click's `cp_assign_arguments`).
/// `formals` holds each formal's keyword: empty for positional,
/// `__REST__` for the rest. Returns the values in formal order, or `None`
/// when the arguments do not fit.
pub fn assign_arguments(args: &[String], formals: &[String]) -> Option<Vec<String>> {
    if formals.last().is_none_or(|k| k.is_empty()) {
        return (args.len() == formals.len()).then(|| args.to_vec());
    }
    let npositional = formals.iter().take_while(|k| k.is_empty()).count();
    if args.len() < npositional {
        return None;
    }
    let mut values = vec![String::new(); formals.len()];
    values[..npositional].clone_from_slice(&args[..npositional]);
    let rest = formals.iter().position(|k| k == "__REST__");
    let mut rest_args = Vec::new();
    for arg in &args[npositional..] {
        let (keyword, value) = match arg.find(|c: char| c.is_ascii_whitespace()) {
            Some(p) => (&arg[..p], arg[p..].trim_start()),
            None => (arg.as_str(), ""),
        };
        let slot = formals[npositional..]
            .iter()
            .position(|k| k == keyword && k != "__REST__");
        match (slot, rest) {
            (Some(k), _) => values[npositional + k] = value.to_string(),
            (None, Some(_)) => rest_args.push(arg.as_str()),
            (None, None) => return None,
        }
    }
    if let Some(r) = rest {
        values[r] = rest_args.join(", ");
    }
    Some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        Env {
            frames: vec![vars
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()],
        }
    }

    #[test]
    fn substitutes_variables() {
        let e = env(&[("a", "A B C"), ("n", "2"), ("q", "x\"y")]);
        assert_eq!(expand("$a", &e), "A B C");
        assert_eq!(expand("${a[0]}-${a[$n]}-${a[3]}", &e), "A-C-");
        assert_eq!(expand("'$a' $zz ${zz-def}", &e), "'$a' $zz def");
        assert_eq!(expand("\"$q\"", &e), "\"x\\\"y\"");
        assert_eq!(expand("$", &e), "$");
    }

    #[test]
    fn assigns_compound_arguments() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(assign_arguments(&s(&["A"]), &s(&["", ""])), None);
        assert_eq!(
            assign_arguments(&s(&["A"]), &s(&["", "__REST__"])),
            Some(s(&["A", ""]))
        );
        assert_eq!(
            assign_arguments(&s(&["A", "TWO B", "C"]), &s(&["", "TWO", "__REST__"])),
            Some(s(&["A", "B", "C"]))
        );
        assert_eq!(assign_arguments(&s(&["A", "X B"]), &s(&["", "TWO"])), None);
    }
}
