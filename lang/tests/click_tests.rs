//! Expectations taken from Click's own test suite (`click-tests/compound`,
//! `click-tests/tools/lexer-*`): names, flattened output and error lines.

use click_lang::{load_str, LoadOptions};

fn flatten(src: &str, file: &str) -> String {
    match load_str(src, file, &LoadOptions::default()) {
        Ok(c) => c.to_click(),
        Err(d) => panic!("{}", d.render()),
    }
}

fn errors(src: &str, file: &str) -> String {
    match load_str(src, file, &LoadOptions::default()) {
        Ok(c) => panic!("expected errors, got\n{}", c.to_click()),
        Err(d) => d.render_click(),
    }
}

/// The lexer tests' `fix`: join chain continuation lines, sort the lines.
fn fix(s: &str) -> String {
    let joined = s.replace("\n    ", " ");
    let mut lines: Vec<&str> = joined.lines().filter(|l| !l.is_empty()).collect();
    lines.sort();
    lines.join("\n") + "\n"
}

#[test]
fn compact_01_overloads() {
    let src = r#"
require(compact_config)
elementclass Foo {
   $a, $b | input -> Print(1) -> output
|| $a, __REST__ $b | input -> Print(2) -> output
|| $a, TWO $b, __REST__ $c | input -> Print(3) -> output
}
InfiniteSource(DATA "", LIMIT 1, STOP true)
  -> Foo(A)
  -> f::Foo(A, TWO B)
elementclass Foo {
   $a, $b | input -> Print(4) -> output
|| ...
}
f -> Foo(A, B) -> Foo(A, B, C) -> Discard
"#;
    let expected = r#"require(compact_config);

InfiniteSource@1 :: InfiniteSource(DATA "", LIMIT 1, STOP true);
Discard@6 :: Discard;
Foo@2/Print@1 :: Print(2);
f/Print@1 :: Print(1);
Foo@4/Print@1 :: Print(4);
Foo@5/Print@1 :: Print(2);

InfiniteSource@1 -> Foo@2/Print@1
    -> f/Print@1
    -> Foo@4/Print@1
    -> Foo@5/Print@1
    -> Discard@6;
"#;
    assert_eq!(flatten(src, "config"), expected);
}

#[test]
fn variables_01_indexed_expansion() {
    let src = r#"
elementclass Foo {
   $a | input -> Print("$a") -> Print("${a[0]}") -> Print("${a[2]}") -> Print("${a[3]}") -> output
}
elementclass Bar {
   $a, $n | input -> Print("${a[$n]}") -> output
}
elementclass Baz {
   $a | input -> Bar(${a[1]} ${a[0]}, ${a[2]}) -> output
}
InfiniteSource(DATA "", LIMIT 1, STOP true)
  -> Foo(A B C) -> Bar(D E F, 2) -> Baz(G H 1) -> Baz(I J 0) -> Discard
"#;
    let out = flatten(src, "config");
    let prints: Vec<&str> = out.lines().filter(|l| l.contains(":: Print(")).collect();
    let configs: Vec<&str> = prints
        .iter()
        .map(|l| l.split(":: Print(").nth(1).unwrap_or(""))
        .collect();
    assert_eq!(
        configs,
        [
            "\"A B C\");",
            "\"A\");",
            "\"C\");",
            "\"\");",
            "\"F\");",
            "\"G\");",
            "\"J\");"
        ]
    );
}

#[test]
fn lexer_01_class_used_as_element_name() {
    let a = "\nelementclass Foo {\n   A -> B;\n}\nA :: Idle;\n";
    let b = "\nelementclass Foo {\n   A :: A -> B;\n}\nA :: Idle;\n";
    assert_eq!(
        errors(a, "config"),
        "config:5: class 'A' used as element name\n"
    );
    let c = "\nelementclass Foo {\n   A :: AA -> B;\n}\nA :: Idle;\n";
    // Click's test compares the three runs' stderr together: 5, then 3, then 5.
    let all = errors(a, "config") + &errors(b, "config");
    assert!(load_str(c, "config", &LoadOptions::default()).is_ok());
    assert_eq!(
        all,
        "config:5: class 'A' used as element name\nconfig:3: class 'A' used as element name\nconfig:5: class 'A' used as element name\n"
    );
}

#[test]
fn lexer_02_lexical_scoping_of_formals() {
    let a = "elementclass Foo {\n$a |\n   DriverManager($a);\n}\nelementclass Far {\n$a, $b |\n   Foo($b);\n}\nFar(wait_stop stop, stop);\n";
    assert_eq!(
        flatten(a, "A.click"),
        "Far@1/Foo@1/DriverManager@1 :: DriverManager(stop);\n\n"
    );
    let b = "elementclass Foo {\n$a |\n   elementclass Bar {\n   $b |\n      DriverManager($a);\n   }\n   elementclass Baz {\n   $a |\n      Idle; Bar($a);\n   }\n   Baz(fuckola);\n}\nFoo(stop);\n";
    assert_eq!(
        flatten(b, "B.click"),
        "Foo@1/Baz@1/Idle@1 :: Idle;\nFoo@1/Baz@1/Bar@2/DriverManager@1 :: DriverManager(stop);\n\n"
    );
}

#[test]
fn lexer_04_commas_in_connections() {
    let a =
        "a, b, c :: Idle;\np, q :: PullNull;\na, a[1] -> b -> p, q;\np -> [0]c, [1]c; q -> [2]c;\n";
    assert_eq!(
        fix(&flatten(a, "A.click")),
        "a -> b -> p -> c;\na :: Idle;\na [1] -> b;\nb -> q -> [2] c;\nb :: Idle;\nc :: Idle;\np -> [1] c;\np :: PullNull;\nq :: PullNull;\n"
    );
    let b = "a, b, c :: Idle;\na => b, c, [0,1] a;\n";
    assert_eq!(
        fix(&flatten(b, "B.click")),
        "a :: Idle;\na [1] -> c;\na [2] -> a -> b;\na [3] -> [1] a;\nb :: Idle;\nc :: Idle;\n"
    );
    let d = "a, b :: Idle;\na -> { -> } -> b;\na [1] -> { [0] -> [0] } -> [1] b;\n";
    assert_eq!(
        fix(&flatten(d, "D.click")),
        "a -> b;\na :: Idle;\na [1] -> [1] b;\nb :: Idle;\n"
    );
    let c = "a, b, c, d :: Idle;\na [0,1] => [0,1,2] b;\nc [] => [] d;\n";
    assert_eq!(
        errors(c, "C.click"),
        "C.click:2: connection mismatch: 2 outputs connected to 3 inputs\nC.click:3: at most one expandable port allowed per connection\n"
    );
    let c2 = "a, b, c, d :: Idle;\na [0,1,2] -> [0,1,2] b;\n";
    assert_eq!(
        errors(c2, "C2.click"),
        "C2.click:2: syntax error: many-to-many connections require '=>'\n"
    );
}

const GROUPS_EXPECTED: &str =
    "a -> c;\na :: Idle;\na [1] -> b;\na [2] -> d;\nb :: Idle;\nc :: Idle;\nd :: Idle;\n";

#[test]
fn lexer_05_element_groups() {
    for src in [
        "a, b, c, d :: Idle;\na [0,1,2] => c, b, d;\n",
        "a, b, c, d :: Idle;\na [0,1,2] => ( -> c ), ( -> b ), d;\n",
        "a, d :: Idle;\na => (-> c :: Idle), (-> b :: Idle), d;\n",
    ] {
        assert_eq!(fix(&flatten(src, "A.click")), GROUPS_EXPECTED, "{src}");
    }
    let b = "analyzer, x1, x2 :: Idle;\nx1 -> analyzer -> x2;\nc :: Idle =>\n         [1] analyzer [1],\n         (-> c2 :: Idle => (->), Paint(1) ->)\n-> post_classification :: Idle;\n";
    let out = fix(&flatten(b, "B.click"));
    let paint = out
        .lines()
        .find(|l| l.starts_with("Paint@"))
        .and_then(|l| l.split(' ').next())
        .unwrap_or("?");
    let expected = format!(
        "{paint} :: Paint(1);\nanalyzer :: Idle;\nanalyzer [1] -> post_classification;\nc -> [1] analyzer;\nc :: Idle;\nc [1] -> c2 -> post_classification;\nc2 :: Idle;\nc2 [1] -> {paint} -> post_classification;\npost_classification :: Idle;\nx1 -> analyzer -> x2;\nx1 :: Idle;\nx2 :: Idle;\n"
    );
    assert_eq!(out, expected);
}

#[test]
fn lexer_06_groups_inside_compounds() {
    let a = "elementclass Foo {\n    a, d :: Idle;\n    a => (-> c :: Idle), (-> b :: Idle), d;\n}\nfoo::Foo;\n";
    let expected = "foo/a -> foo/c;
foo/a :: Idle;
foo/a [1] -> foo/b;
foo/a [2] -> foo/d;
foo/b :: Idle;
foo/c :: Idle;
foo/d :: Idle;
";
    assert_eq!(fix(&flatten(a, "A.click")), expected);
}

#[test]
fn lexer_07_backslash_in_config() {
    assert_eq!(
        flatten("m :: Message(\"\\\\\");\n", "A.click"),
        "m :: Message(\"\\\\\");\n\n"
    );
}

#[test]
fn lexer_08_line_directives() {
    let src = "m :: Message(\n# 100 \"foobar.click\"\n\"test\");\nm2 :: Message(\"test2\");\nDriverManager(stop);\n";
    let c = load_str(src, "A.click", &LoadOptions::default()).unwrap();
    assert_eq!(c.elements[0].config, "\n\"test\"");
    assert_eq!(c.elements[0].span.landmark(), "A.click:1");
    assert_eq!(c.elements[1].span.landmark(), "foobar.click:101");
}

#[test]
fn lexer_09_stray_arrow() {
    assert_eq!(
        errors("->Null;\n", "A.click"),
        "A.click:1: syntax error near '->'\n"
    );
}

#[test]
fn several_independent_errors_are_reported() {
    let src = "a :: Idle;\na :: Idle;\nelementclass X { input -> output }\nx :: X;\nX :: Idle;\n";
    let e = errors(src, "t");
    assert!(e.contains("t:2: redeclaration of element 'a'"), "{e}");
    assert!(e.contains("t:5: class 'X' used as element name"), "{e}");
}

#[test]
fn compound_argument_mismatch() {
    let e = errors(
        "elementclass F { $a | input -> output }\nIdle -> F(1, 2) -> Discard;\n",
        "t",
    );
    assert!(
        e.starts_with("t:2: no match for 'F[2 arguments, 1 input, 1 output]'"),
        "{e}"
    );
}

#[test]
fn unused_compound_ports() {
    let e = errors(
        "elementclass F { input -> output; input [1] -> Discard }\nIdle -> F -> Discard;\n",
        "t",
    );
    assert!(
        e.contains("input 1 unused") || e.contains("no match"),
        "{e}"
    );
}

#[test]
fn defines_and_command_line_overrides() {
    let src = "define($N 5, $S x);\nQueue($N) -> Print(${S}y, '$N') -> Discard;\n";
    let c = load_str(src, "t", &LoadOptions::default()).unwrap();
    assert_eq!(c.elements[0].config, "5");
    assert_eq!(c.elements[1].config, "xy, '$N'");
    let opts = LoadOptions {
        defines: vec![("N".into(), "7".into())],
        ..Default::default()
    };
    assert_eq!(load_str(src, "t", &opts).unwrap().elements[0].config, "7");
}

#[test]
fn require_library_is_found_beside_the_file() {
    let dir = std::env::temp_dir().join(format!("click-lang-lib-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("lib.click"),
        "elementclass Twice { input -> Print(a) -> Print(b) -> output }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main.click"),
        "require(library lib.click, package \"p\");\nIdle -> Twice -> Discard;\n",
    )
    .unwrap();
    let c = click_lang::load_file(&dir.join("main.click"), &LoadOptions::default()).unwrap();
    assert_eq!(c.elements.len(), 4);
    assert_eq!(c.requirements[0].text, "package \"p\"");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bare_words_are_marked_as_implicit_classes() {
    let src =
        "elementclass C { input -> output }\ni :: Idle; i -> j; Idle -> C -> x :: X; q :: Q; Q;";
    let c = load_str(src, "t", &LoadOptions::default()).unwrap();
    let implicit: Vec<(&str, bool)> = c
        .elements
        .iter()
        .map(|e| (e.name.as_str(), e.implicit_class))
        .collect();
    assert_eq!(
        implicit,
        [
            ("i", false),
            ("j@2", true),
            ("Idle@3", false),
            ("x", false),
            ("q", false),
            ("Q@7", false)
        ]
    );
}
