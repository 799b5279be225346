//! Click's behaviour where it is easy to get subtly wrong, checked against
//! what Click's sources do (`lib/confparse.cc`, `lib/variableenv.cc`,
//! `lib/lexer.cc`, `tools/lib/lexert.cc`, `tools/lib/routert.cc`,
//! `tools/lib/runparse.cc`).

use click_lang::{load_str, LoadOptions};

fn flatten(src: &str) -> String {
    flatten_with(src, &LoadOptions::default())
}

fn flatten_with(src: &str, opts: &LoadOptions) -> String {
    match load_str(src, "config", opts) {
        Ok(c) => c.to_click(),
        Err(d) => panic!("{}", d.render()),
    }
}

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
