use super::*;
use proptest::prelude::*;

fn env(pairs: &[(&str, &str)]) -> Env {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn render(t: &str, e: &Env) -> String {
    Template::parse(t).unwrap().render(e).text
}

#[test]
fn values_escape_like_mustache_java() {
    let e = env(&[("X", "<a href=\"x\">'&`=\t")]);
    assert_eq!(
        render("{{X}}", &e),
        "&lt;a href&#61;&quot;x&quot;&gt;&#39;&amp;&#96;&#61;&#9;"
    );
    assert_eq!(render("{{{X}}}", &e), "<a href=\"x\">'&`=\t");
    assert_eq!(render("{{& X}}", &e), "<a href=\"x\">'&`=\t");
    assert_eq!(render("{{ X }}", &e), render("{{X}}", &e));
}

#[test]
fn booleans_render_lowercase_and_drive_sections() {
    let e = env(&[("T", "TRUE"), ("F", "False"), ("E", ""), ("S", "x")]);
    assert_eq!(render("{{T}}/{{F}}", &e), "true/false");
    assert_eq!(
        render(
            "{{#T}}t{{/T}}{{#F}}f{{/F}}{{#E}}e{{/E}}{{#S}}s{{.}}{{/S}}{{#U}}u{{/U}}",
            &e
        ),
        "tsx"
    );
    assert_eq!(
        render(
            "{{^T}}t{{/T}}{{^F}}f{{/F}}{{^E}}e{{/E}}{{^S}}s{{/S}}{{^U}}u{{/U}}",
            &e
        ),
        "feu"
    );
}

#[test]
fn standalone_section_lines_are_removed() {
    let t = "a\n{{#X}}\nb\n{{/X}}\nc\n";
    assert_eq!(render(t, &env(&[("X", "true")])), "a\nb\nc\n");
    assert_eq!(render(t, &env(&[("X", "false")])), "a\nc\n");
    let indented = "  {{#X}}\n  b\n  {{/X}}\nc\n";
    assert_eq!(render(indented, &env(&[("X", "true")])), "  b\nc\n");
    assert_eq!(render(indented, &env(&[])), "c\n");
    let inline = "a {{#X}}b{{/X}} c\n";
    assert_eq!(render(inline, &env(&[("X", "true")])), "a b c\n");
    assert_eq!(render(inline, &env(&[])), "a  c\n");
}

#[test]
fn crlf_is_kept_and_lone_cr_dropped() {
    assert_eq!(render("a\r\nb\rc", &env(&[])), "a\r\nbc");
}

#[test]
fn missing_values_are_reported_with_lines_only_when_executed() {
    let t = Template::parse("a: {{A}}\n{{#OFF}}\nb: {{B}}\n{{/OFF}}\nc: {{{C}}}\n").unwrap();
    let r = t.render(&env(&[]));
    assert_eq!(r.text, "a: \nc: \n");
    assert_eq!(
        r.missing,
        vec![
            MissingValue {
                name: "A".into(),
                line: 1
            },
            MissingValue {
                name: "C".into(),
                line: 5
            }
        ]
    );
    let err = t.render_strict(&env(&[])).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("line 1: missing value for '{{A}}'"), "{msg}");
    assert!(msg.contains("line 5: missing value for '{{C}}'"), "{msg}");
}

#[test]
fn rendered_lines_map_back_to_template_lines() {
    let t = Template::parse("a\n{{#X}}\nb\n{{/X}}\nc\n").unwrap();
    let r = t.render(&env(&[]));
    assert_eq!(r.text, "a\nc\n");
    assert_eq!(r.source_line(1), 1);
    assert_eq!(r.source_line(2), 5);
}

#[test]
fn syntax_errors_name_their_line() {
    let cases: &[(&str, &str)] = &[
        ("a\n{{#X}}\nb\n", "line 2: section 'X' is never closed"),
        (
            "a\n\n{{/X}}",
            "line 3: '{{/X}}' closes a section that was never opened",
        ),
        ("{{#A}}{{/B}}", "'{{/B}}' closes section 'A'"),
        ("x {{name", "line 1: tag opened with '{{' is never closed"),
        ("{{}}", "empty tag"),
        ("{{{X}}", "missing its third closing brace"),
        ("{{> part}}", "partials"),
        ("{{=<% % %>=}}", "invalid delimiter change"),
    ];
    for (text, want) in cases {
        let err = Template::parse(text).unwrap_err().to_string();
        assert!(err.contains(want), "{text:?}: {err}");
    }
}

#[test]
fn delimiters_can_change() {
    let e = env(&[("X", "1")]);
    assert_eq!(render("{{=<% %>=}}<% X %> {{X}}", &e), "1 {{X}}");
}

#[test]
fn variables_lists_every_name() {
    let t = Template::parse("{{A}}{{#B}}{{{C}}}{{/B}}{{^D}}{{/D}}").unwrap();
    let names: Vec<_> = t.variables().into_iter().collect();
    assert_eq!(names, vec!["A", "B", "C", "D"]);
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').map(|e| i + e).unwrap_or(rest.len() - 1);
        let entity = &rest[i + 1..end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            n => n
                .strip_prefix('#')
                .and_then(|d| d.parse::<u32>().ok())
                .and_then(char::from_u32)
                .unwrap_or('?'),
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

proptest! {
    #[test]
    fn parse_and_render_never_panic(text in "\\PC{0,80}", value in "\\PC{0,10}") {
        if let Ok(t) = Template::parse(&text) {
            let _ = t.render(&env(&[("X", &value)]));
        }
    }

    #[test]
    fn text_without_tags_renders_verbatim(text in "[^{\\r]{0,200}") {
        prop_assert_eq!(render(&text, &env(&[])), text);
    }

    #[test]
    fn escaping_is_reversible(value in "\\PC{0,40}") {
        prop_assert_eq!(unescape(&escape_html(&value)), value);
    }

    #[test]
    fn raw_values_render_verbatim(value in "[^\\r]{0,40}") {
        prop_assume!(!value.eq_ignore_ascii_case("true") && !value.eq_ignore_ascii_case("false"));
        let e = env(&[("X", &value)]);
        prop_assert_eq!(render("[{{{X}}}]", &e), format!("[{value}]"));
        prop_assert_eq!(render("[{{X}}]", &e), format!("[{}]", escape_html(&value)));
    }

    #[test]
    fn sections_select_by_truthiness(flag in prop_oneof![Just("true"), Just("FALSE"), Just(""), Just("x")], body in "[a-z]{1,10}") {
        let e = env(&[("F", flag)]);
        let on = flag.eq_ignore_ascii_case("true") || flag == "x";
        let t = format!("{{{{#F}}}}\n{body}\n{{{{/F}}}}\n{{{{^F}}}}\nnot\n{{{{/F}}}}\n");
        let want = if on { format!("{body}\n") } else { "not\n".to_string() };
        prop_assert_eq!(render(&t, &e), want);
    }
}
