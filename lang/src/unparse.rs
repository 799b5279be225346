//! Printing a flattened configuration: Click's flat syntax and Graphviz.

use std::fmt::Write;

use crate::{FlatConfig, FlatConnection, FlatElement};

impl FlatConfig {
    /// The configuration as Click's `click-flatten` prints it: one
    /// `require(...)`, one `define(...)` of the global variables (Click's
    /// `RouterT::unparse_defines`), the declarations, a blank line, then
    /// the connections joined into chains. References to global variables
    /// stay symbolic (`Queue($LIM)`, see [`FlatConfig::symbolic`]); if
    /// `click-flatten` would fail ([`FlatConfig::flatten_errors`]), the
    /// substituted elements are printed instead.
    pub fn to_click(&self) -> String {
        let mut out = self.requirements_text();
        if !self.defines.is_empty() {
            let defs: Vec<String> = self
                .defines
                .iter()
                .map(|(name, value)| format!("${name} {value}"))
                .collect();
            let _ = writeln!(out, "define({});\n", defs.join(", "));
        }
        match self.symbolic.as_deref() {
            Some(s) if s.errors.is_empty() => {
                write_declarations(&mut out, &s.elements);
                write_chains(&mut out, &s.elements, &s.connections);
            }
            _ => {
                write_declarations(&mut out, &self.elements);
                write_chains(&mut out, &self.elements, &self.connections);
            }
        }
        out
    }

    /// The configuration as Click's router prints it (its `flatconfig`
    /// handler, `click -qo-`): like [`to_click`](FlatConfig::to_click), but
    /// with every variable substituted and no `define`.
    pub fn to_click_expanded(&self) -> String {
        let mut out = self.requirements_text();
        write_declarations(&mut out, &self.elements);
        write_chains(&mut out, &self.elements, &self.connections);
        out
    }

    fn requirements_text(&self) -> String {
        let mut out = String::new();
        if !self.requirements.is_empty() {
            let texts: Vec<&str> = self.requirements.iter().map(|r| r.text.as_str()).collect();
            let _ = writeln!(out, "require({});\n", texts.join(", "));
        }
        out
    }

    /// A Graphviz digraph: one node per element (name and class), one edge
    /// per connection, labelled with its ports.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph click {\n  node [shape=box];\n");
        for e in &self.elements {
            let label = format!("{}\\n{}", dot_escape(&e.name), dot_escape(&e.class));
            let _ = writeln!(out, "  \"{}\" [label=\"{label}\"];", dot_escape(&e.name));
        }
        for c in &self.connections {
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\" [taillabel=\"{}\", headlabel=\"{}\"];",
                dot_escape(&self.elements[c.from].name),
                dot_escape(&self.elements[c.to].name),
                c.from_port,
                c.to_port
            );
        }
        out.push_str("}\n");
        out
    }
}

fn write_declarations(out: &mut String, elements: &[FlatElement]) {
    for e in elements {
        let _ = write!(out, "{} :: {}", e.name, e.class);
        if !e.config.is_empty() {
            let _ = write!(out, "({})", e.config);
        }
        out.push_str(";\n");
    }
    if !elements.is_empty() {
        out.push('\n');
    }
}

/// Click's chaining (`Router::unparse_connections`): a connection into
/// port 0 continues with a connection out of that element's port 0
/// (preferring one that itself goes to a port 0); each chain starts at
/// a connection no other continues; cycles are printed last.
fn write_chains(out: &mut String, elements: &[FlatElement], conns: &[FlatConnection]) {
    let n = conns.len();
    let mut by_source: std::collections::HashMap<(usize, usize), Vec<usize>> = Default::default();
    for (i, c) in conns.iter().enumerate() {
        by_source.entry((c.from, c.from_port)).or_default().push(i);
    }
    let mut next = vec![None; n];
    let mut starts_chain = vec![true; n];
    for (i, c) in conns.iter().enumerate() {
        if c.to_port != 0 {
            continue;
        }
        let candidates = by_source.get(&(c.to, 0)).map(Vec::as_slice).unwrap_or(&[]);
        let others = candidates.iter().copied().filter(|&d| d != i);
        let mut chosen = None;
        for d in others {
            chosen = Some(d);
            if conns[d].to_port == 0 {
                break;
            }
        }
        if let Some(d) = chosen {
            next[i] = Some(d);
            starts_chain[d] = false;
        }
    }
    let mut used = vec![false; n];
    loop {
        for i in 0..n {
            if !used[i] && starts_chain[i] {
                write_chain(out, elements, conns, i, &next, &mut used);
            }
        }
        match (0..n).find(|&i| !used[i]) {
            Some(i) => starts_chain[i] = true,
            None => break,
        }
    }
}

fn write_chain(
    out: &mut String,
    elements: &[FlatElement],
    conns: &[FlatConnection],
    first: usize,
    next: &[Option<usize>],
    used: &mut [bool],
) {
    let c = &conns[first];
    out.push_str(&elements[c.from].name);
    if c.from_port != 0 {
        let _ = write!(out, " [{}]", c.from_port);
    }
    let mut at = Some(first);
    while let Some(d) = at.filter(|&d| !used[d]) {
        out.push_str(if d == first { " -> " } else { "\n    -> " });
        let c = &conns[d];
        if c.to_port != 0 {
            let _ = write!(out, "[{}] ", c.to_port);
        }
        out.push_str(&elements[c.to].name);
        used[d] = true;
        at = next[d];
    }
    out.push_str(";\n");
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use crate::{load_str, LoadOptions};

    fn flat(src: &str) -> String {
        load_str(src, "t", &LoadOptions::default())
            .map(|c| c.to_click())
            .unwrap_or_else(|d| d.render())
    }

    #[test]
    fn chains_follow_port_zero() {
        let out = flat("a :: A; b :: B; c :: C; a -> b -> c; b [1] -> [1] c;");
        assert_eq!(
            out,
            "a :: A;\nb :: B;\nc :: C;\n\na -> b\n    -> c;\nb [1] -> [1] c;\n"
        );
    }

    #[test]
    fn cycles_are_printed() {
        let out = flat("a :: A; b :: B; a -> b -> a;");
        assert!(out.ends_with("\na -> b\n    -> a;\n"), "{out}");
    }

    #[test]
    fn requirements_and_empty_configs() {
        let out = flat("require(package \"x\", compact_config); i :: Idle();");
        assert_eq!(
            out,
            "require(package \"x\", compact_config);\n\ni :: Idle;\n\n"
        );
    }

    #[test]
    fn dot_labels_ports() {
        let c = load_str(
            "a :: A; b :: B; a [1] -> [2] b;",
            "t",
            &LoadOptions::default(),
        )
        .unwrap();
        let dot = c.to_dot();
        assert!(
            dot.contains("\"a\" -> \"b\" [taillabel=\"1\", headlabel=\"2\"];"),
            "{dot}"
        );
    }
}
