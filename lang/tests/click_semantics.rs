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
fn keyword_parameters_must_be_given() {
    // doc/click.5: `{ COUNT $count | ... } (1)` is an error; Click's
    // cp_assign_arguments makes keyword parameters mandatory.
    let f = "elementclass F { $a, COUNT $c | input -> q :: Queue($c) -> output }\n";
    let e = errors(&format!("{f}Idle -> F(1) -> Discard;"));
    assert!(
        e.starts_with("config:2: no match for 'F[1 argument, 1 input, 1 output]'"),
        "{e}"
    );
    let d = declaration(&format!("{f}Idle -> f :: F(1, COUNT 2) -> Discard;"), "f/q");
    assert_eq!(d, "f/q :: Queue(2)");
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

// ---- Global defines in the flattened output (click-flatten) ----

#[test]
fn flattening_keeps_global_defines_symbolic() {
    // tools/lib/routert.cc, RouterT::remove_compound_elements: without
    // --expand-vars, each global variable stands for `$NAME` itself; the
    // define() is printed after the requirements (runparse.cc).
    let src = "require(package \"p\");\ndefine($LIM 5, $GW $DEV:gw);\ndefine($DEV eth0);\nq :: Queue($LIM);\nIdle -> q -> s :: SetIPAddress($GW) -> Discard;\n";
    let expected = "require(package \"p\");\n\n\
                    define($LIM 5, $GW $DEV:gw, $DEV eth0);\n\n\
                    q :: Queue($LIM);\n\
                    Idle@2 :: Idle;\n\
                    s :: SetIPAddress($GW);\n\
                    Discard@4 :: Discard;\n\n\
                    Idle@2 -> q\n    -> s\n    -> Discard@4;\n";
    assert_eq!(flatten(src), expected);
    // The engine still gets the values.
    let c = load_str(src, "config", &LoadOptions::default()).unwrap();
    assert_eq!(c.elements[0].config, "5");
    assert_eq!(c.elements[2].config, "eth0:gw");
    assert_eq!(c.defines[0], ("LIM".to_string(), "5".to_string()));
    // Click's runtime flat configuration (`click -qo-`) substitutes.
    assert!(c
        .to_click_expanded()
        .starts_with("require(package \"p\");\n\nq :: Queue(5);\n"));
}

#[test]
fn flattening_substitutes_compound_parameters_but_not_globals() {
    let src = "define($LIM 5);\n\
               elementclass Q { $n | define($m $LIM) input -> a :: Queue($n) -> b :: Queue($m) -> output }\n\
               Idle -> x :: Q($LIM) -> y :: Q(3) -> Discard;\n";
    let out = flatten(src);
    for line in [
        "x/a :: Queue($LIM);",
        "x/b :: Queue($LIM);",
        "y/a :: Queue(3);",
        "y/b :: Queue($LIM);",
    ] {
        assert!(out.lines().any(|l| l == line), "{line} in\n{out}");
    }
}

#[test]
fn flattening_keeps_references_through_every_form() {
    // `${LIM-7}` keeps `$LIM` (the comment in remove_compound_elements);
    // the value `$LIM` is quoted in double quotes and has one word.
    let src = "define($LIM 5);\np :: Print(${LIM-7}, ${NONE-7}, \"$LIM\", ${LIM[0]}, ${LIM[1]}, '$LIM', $NONE, ${LIM}x);\n";
    assert_eq!(
        flatten(src),
        "define($LIM 5);\n\np :: Print($LIM, 7, \"\\$LIM\", $LIM, , '$LIM', $NONE, $LIMx);\n\n"
    );
}

#[test]
fn command_line_definitions_appear_in_the_define() {
    // LexerT::finish redefines the command line's NAME=VALUE over the
    // file's: a file variable keeps its place, new ones come last.
    let opts = LoadOptions {
        defines: vec![("N".into(), "7".into()), ("M".into(), "1 2".into())],
        ..Default::default()
    };
    let src = "define($N 5, $S x /* comment */  y);\nq :: Queue($N);\n";
    assert_eq!(
        flatten_with(src, &opts),
        "define($N 7, $S x y, $M 1 2);\n\nq :: Queue($N);\n\n"
    );
    let c = load_str(src, "config", &opts).unwrap();
    assert_eq!(c.elements[0].config, "7");
    // Without any define, nothing changes.
    assert_eq!(flatten("q :: Queue(5);"), "q :: Queue(5);\n\n");
}

#[test]
fn flattening_that_only_fails_with_symbolic_values_is_reported() {
    // `$K` stands for itself, which is no `COUNT` keyword: click-flatten
    // finds no match where click, with the value, does.
    let src = "define($K COUNT 3);\nelementclass F { COUNT $c | input -> Queue($c) -> output }\nIdle -> F($K) -> Discard;\n";
    let c = load_str(src, "config", &LoadOptions::default()).unwrap();
    assert_eq!(c.elements[2].config, "3");
    let d = c.flatten_errors().expect("click-flatten fails");
    assert!(
        d.render_click()
            .starts_with("config:3: no match for 'F[1 argument, 1 input, 1 output]'"),
        "{}",
        d.render_click()
    );
}

// ---- Port ranges (yport in lib/lexer.cc and tools/lib/lexert.cc) ----

#[test]
fn port_ranges_on_both_sides_of_a_connection() {
    // doc/click.5: `c [0-2] => Paint(0), Paint(1), Paint(2) -> next`.
    assert_eq!(
        flatten("c :: Idle; rr :: Idle; c [0-2] => [3,2,1] rr;"),
        "c :: Idle;\nrr :: Idle;\n\nc -> [3] rr;\nc [1] -> [2] rr;\nc [2] -> [1] rr;\n"
    );
    assert_eq!(
        flatten("c :: Idle; c [0-2] => Paint(0), Paint(1), Paint(2) -> n :: Idle;"),
        flatten("c :: Idle; c [0,1,2] => Paint(0), Paint(1), Paint(2) -> n :: Idle;")
    );
}

#[test]
fn port_range_forms() {
    // A range mixes with commas; numbers use Click's integer syntax; a
    // range ending below its start adds nothing; `[N-]` is expandable.
    let out =
        flatten("a, b :: Idle; a => [1-3] b; a [4-5, 7] => [0-] b; a [8 - 0x9] => [2-1, 0] b;");
    let expected = "a -> [1] b;\na [1] -> [2] b;\na [2] -> [3] b;\n\
                    a [4] -> b;\na [5] -> [1] b;\na [7] -> [2] b;\n\
                    a [8] -> [2] b;\na [9] -> b;\n";
    assert!(out.ends_with(expected), "{out}");
}

#[test]
fn port_ranges_in_compounds_and_groups() {
    let src = "elementclass F { input [0-1] => a :: Idle, b :: Idle; a, b => [0-1] output }\n\
               x, y :: Idle; d1, d2 :: Discard;\n\
               x, y => [0-1] f :: F [0-1] => d1, d2;\n\
               x [2-3] => (-> c :: Idle), (-> d :: Idle);";
    let out = flatten(src);
    assert!(
        out.ends_with("x -> f/a\n    -> d1;\ny -> f/b\n    -> d2;\nx [2] -> c;\nx [3] -> d;\n"),
        "{out}"
    );
}

#[test]
fn misplaced_port_separators() {
    let e = errors("a, b :: Idle;\na [0 1] => b, b;\na [0-2-4] => b;\na [,1] -> b;");
    assert_eq!(
        e,
        "config:2: syntax error: expected ','\n\
         config:3: syntax error: expected ','\n\
         config:3: syntax error: expected port number\n\
         config:4: syntax error: expected port number\n"
    );
}

// ---- Where a dangling arrow is reported ----

#[test]
fn an_arrow_followed_by_an_arrow_is_reported_at_the_second() {
    // Click's lexer reports the lexeme where an element was expected, at
    // the line it has read it on.
    assert_eq!(
        errors("a :: Idle ->\n-> b :: Idle;"),
        "config:2: syntax error near '->'\n"
    );
    assert_eq!(
        errors("a :: Idle -> // note\n\n  -> b :: Idle;"),
        "config:3: syntax error near '->'\n"
    );
    assert_eq!(
        errors("a :: Idle ->\n/* a\n comment */\n# 20 \"other.click\"\n-> b :: Idle;"),
        "other.click:20: syntax error near '->'\n"
    );
    let e = errors("elementclass F { input -> a :: Idle ->\n -> output }\nIdle -> F -> Discard;");
    assert!(e.starts_with("config:2: syntax error near '->'\n"), "{e}");
}

#[test]
fn a_final_arrow_is_reported_at_what_follows() {
    assert_eq!(
        errors("a :: Idle ->\n\n;"),
        "config:3: syntax error near ';'\n"
    );
    assert_eq!(errors("a :: Idle ->\n"), "config:2: syntax error near ''\n");
}
