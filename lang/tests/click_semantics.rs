//! Click's behaviour where it is easy to get subtly wrong, checked against
//! what Click's sources do (`lib/confparse.cc`, `lib/variableenv.cc`,
//! `lib/lexer.cc`, `tools/lib/lexert.cc`, `tools/lib/routert.cc`,
//! `tools/lib/runparse.cc`).

use click_lang::{load_str, LoadOptions};

fn errors(src: &str) -> String {
    match load_str(src, "config", &LoadOptions::default()) {
        Ok(c) => panic!("expected errors, got\n{}", c.to_click()),
        Err(d) => d.render_click(),
    }
}

/// The declaration `name :: Class(config)` of the element called `name`
/// in the flattened configuration.
fn declaration(src: &str, name: &str) -> String {
    let c = load_str(src, "config", &LoadOptions::default())
        .unwrap_or_else(|d| panic!("{}", d.render()));
    c.elements
        .iter()
        .find(|e| e.name == name)
        .map(|e| format!("{} :: {}({})", e.name, e.class, e.config))
        .unwrap_or_else(|| panic!("no element {name} in\n{}", c.to_click()))
}

// ---- An empty last argument (cp_argvec) ----

#[test]
fn an_empty_last_compound_argument_is_ignored() {
    // cp_argvec: "If the final argument is empty, it is ignored."
    let one = "elementclass One { $a | input -> Queue($a) -> output }\n";
    let d = declaration(
        &format!("{one}Idle -> One(5, ) -> Discard;"),
        "One@2/Queue@1",
    );
    assert_eq!(d, "One@2/Queue@1 :: Queue(5)");
    let d = declaration(
        &format!("{one}Idle -> One(5, // five\n) -> Discard;"),
        "One@2/Queue@1",
    );
    assert_eq!(d, "One@2/Queue@1 :: Queue(5)");
    let d = declaration(
        &format!("{one}Idle -> One(5, /* five */ ) -> Discard;"),
        "One@2/Queue@1",
    );
    assert_eq!(d, "One@2/Queue@1 :: Queue(5)");
}

#[test]
fn only_the_last_empty_argument_is_ignored() {
    // An empty argument before the last is an argument: `(, 5)` is two.
    let two = "elementclass Two { $a, $b | input -> Queue($b) -> output }\n";
    let d = declaration(
        &format!("{two}Idle -> Two(, 5, ) -> Discard;"),
        "Two@2/Queue@1",
    );
    assert_eq!(d, "Two@2/Queue@1 :: Queue(5)");
    let e = errors(
        "elementclass One { $a | input -> Queue($a) -> output }\nIdle -> One(5, , ) -> Discard;",
    );
    assert!(
        e.starts_with("config:2: no match for 'One[2 arguments, 1 input, 1 output]'"),
        "{e}"
    );
}

#[test]
fn comments_between_words_of_an_argument_become_one_space() {
    // partial_uncomment: a comment and the spaces around it become one space.
    let d = declaration("elementclass P { $a | input -> Print($a) -> output }\nIdle -> P(a  /* x */  b) -> Discard;", "P@2/Print@1");
    assert_eq!(d, "P@2/Print@1 :: Print(a b)");
}

// ---- Variable references (cp_expand, VariableEnvironment::expand) ----

/// The configuration the engine gets for element `name`.
fn config_of(src: &str, name: &str) -> String {
    let c = load_str(src, "config", &LoadOptions::default())
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let e = c.elements.iter().find(|e| e.name == name);
    e.unwrap_or_else(|| panic!("no element {name}"))
        .config
        .clone()
}

#[test]
fn values_are_expanded_where_they_are_used() {
    // Click's test-ping.click: `define($DEV eth0, ..., $GW $DEV:gw)`.
    let src = "define($DEV eth0, $GW $DEV:gw);\ns :: SetIPAddress($GW);";
    assert_eq!(config_of(src, "s"), "eth0:gw");
    // A value is expanded in the environment of the reference, so a global
    // can name a compound's parameter.
    let src = "define($G <$L>);\nelementclass F { $L | input -> p :: Print($G) -> output }\nIdle -> f :: F(7) -> Discard;";
    assert_eq!(config_of(src, "f/p"), "<7>");
}

#[test]
fn braced_references() {
    let src = "define($A x y z, $N 1);\np :: Print(${A[1]-none}, ${ A }, ${A[$N]}, ${B[1]-none}, ${A[0x2]}, ${A[bad]}, ${A.suffix}, ${A[7]});";
    assert_eq!(config_of(src, "p"), "y, x y z, y, none, z, x y z, x y z, ");
}

#[test]
fn defaults_in_compound_bodies() {
    let src = "elementclass F { $a, __REST__ $r | input -> p :: Print(${a-x}, ${r-none}, ${Q-$a}, ${a[0]-q}) -> output }\nIdle -> f :: F(1) -> Discard;";
    assert_eq!(config_of(src, "f/p"), "1, , 1, 1");
}

#[test]
fn values_in_double_quotes_are_quoted_as_cp_quote_does() {
    let src = "define($D '$', $T a\tb);\np :: Print(\"$D $T\");";
    assert_eq!(config_of(src, "p"), "\"'\\$' a\\tb\"");
}

#[test]
fn dollar_forms_that_are_not_variables() {
    let src = "define($a 1);\np :: Print($$a, $(a), $(x $a), $?, $# $a);";
    assert_eq!(config_of(src, "p"), "$$a, 1, $(x 1), $?, $# 1");
}

#[test]
fn an_unclosed_brace_stops_substitution() {
    let src = "define($a 1);\np :: Print($a ${b $a);";
    assert_eq!(config_of(src, "p"), "1 ${b $a");
}

#[test]
fn only_empty_substitutions_leave_the_text_as_written() {
    // Click's cp_expand returns the text unchanged when what it built is
    // empty at the end.
    let src = "define($E);\np :: Print($E x);\nq :: Print(x $E);\nr :: Print(${E}${E-y});";
    assert_eq!(config_of(src, "p"), "$E x");
    assert_eq!(config_of(src, "q"), "x ");
    assert_eq!(config_of(src, "r"), "${E}${E-y}");
}
