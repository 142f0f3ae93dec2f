//! The HTML report's templates (`html/*.html`, compiled in with
//! `include_str!`) and their `{{name}}` placeholders, and the one place
//! text becomes HTML.
//!
//! A placeholder takes either text (`str`, `String`), which `fill` escapes,
//! or [`Markup`], put in as it is. `Markup` is only made here (by `fill` and
//! `Markup::text`, which escape) and by [`Markup::trusted`] (the style sheet,
//! svg.rs's charts), so text from a run is escaped exactly once: never left
//! raw, never escaped twice. Values are put in in one pass: a value is never
//! searched for placeholders, so text from a run cannot bring one in.

use std::fmt;

/// Markup: a filled template, or markup made elsewhere and marked trusted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Markup(String);

impl Markup {
    /// Markup not made by `fill`: the caller answers for its escaping.
    pub fn trusted(markup: impl Into<String>) -> Markup {
        Markup(markup.into())
    }

    /// Text as markup, escaped: for a placeholder that takes either.
    pub fn text(text: &str) -> Markup {
        Markup(esc(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Pieces of markup one after the other (a table's rows, a list's items).
impl FromIterator<Markup> for Markup {
    fn from_iter<I: IntoIterator<Item = Markup>>(iter: I) -> Markup {
        Markup(iter.into_iter().map(|h| h.0).collect())
    }
}

impl fmt::Display for Markup {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a placeholder takes: text is escaped, `Markup` is not.
pub trait Value {
    fn put(&self, out: &mut String);
}

impl Value for str {
    fn put(&self, out: &mut String) {
        escape_into(out, self);
    }
}

impl Value for String {
    fn put(&self, out: &mut String) {
        escape_into(out, self);
    }
}

impl Value for Markup {
    fn put(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

impl<T: Value + ?Sized> Value for &T {
    fn put(&self, out: &mut String) {
        (**self).put(out);
    }
}

/// `template` with each `{{name}}` replaced by its value in `values`.
///
/// # Panics
/// On a placeholder without a value or an unclosed `{{`: the templates are
/// fixed at compile time and every one is rendered by the report tests.
pub fn fill(template: &str, values: &[(&str, &dyn Value)]) -> Markup {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .unwrap_or_else(|| panic!("unclosed {{{{ in a template: {after:.40}"));
        let name = &after[..end];
        values
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("template placeholder {{{{{name}}}}} has no value"))
            .1
            .put(&mut out);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Markup(out)
}

/// Escapes text for HTML element content and quoted attribute values
/// (for svg.rs, which writes its markup itself).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

fn escape_into(out: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{fill, Markup};

    #[test]
    fn placeholders_are_filled_once_and_values_are_not_searched() {
        assert_eq!(
            fill(
                "a {{x}} b {{y}}{{x}}",
                &[("x", &Markup::trusted("{{y}}")), ("y", &"1")]
            )
            .as_str(),
            "a {{y}} b 1{{y}}"
        );
        assert_eq!(fill("no placeholder\n", &[]).as_str(), "no placeholder\n");
    }

    #[test]
    fn text_is_escaped_once_and_markup_not_at_all() {
        let cell = fill("<td>{{t}}</td>", &[("t", &"<a> & \"b\" 'c'")]);
        assert_eq!(
            cell.as_str(),
            "<td>&lt;a&gt; &amp; &quot;b&quot; &#39;c&#39;</td>"
        );
        // A filled template put into another is not escaped again.
        let row = fill("<tr>{{cells}}</tr>", &[("cells", &cell)]);
        assert_eq!(row.as_str(), format!("<tr>{cell}</tr>"));
        let owned = String::from("x<y");
        assert_eq!(fill("{{v}}", &[("v", &owned)]).as_str(), "x&lt;y");
    }

    #[test]
    #[should_panic(expected = "has no value")]
    fn a_placeholder_without_a_value_is_a_bug() {
        fill("{{missing}}", &[("other", &"")]);
    }
}
