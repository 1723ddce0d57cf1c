//! HTML escaping as mustache.java 0.9.x does it for `{{X}}`.

/// Escapes `value` the way mustache.java escapes a `{{X}}` value.
///
/// `&`, `<`, `>`, `"` become named entities; `'`, `` ` `` and `=` become numeric
/// entities; every character at or below U+000D (tab, newline, carriage return and
/// the other C0 controls up to it) becomes `&#N;`. Everything else is copied.
///
/// ```
/// assert_eq!(plinth::template::escape_html("a=\"b\"\n"), "a&#61;&quot;b&quot;&#10;");
/// ```
pub fn escape_html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '`' => out.push_str("&#96;"),
            '=' => out.push_str("&#61;"),
            c if (c as u32) <= 13 => {
                out.push_str("&#");
                out.push_str(&(c as u32).to_string());
                out.push(';');
            }
            c => out.push(c),
        }
    }
    out
}
