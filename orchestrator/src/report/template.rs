//! The HTML report's templates (`html/*.html`, compiled in with
//! `include_str!`) and their `{{name}}` placeholders. Values are put in as
//! given, already escaped by the caller, in one pass: a value is never
//! searched for placeholders, so text from a run cannot bring one in.

/// `template` with each `{{name}}` replaced by its value in `values`.
///
/// # Panics
/// On a placeholder without a value or an unclosed `{{`: the templates are
/// fixed at compile time and every one is rendered by the report tests.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|v| v.1.len()).sum::<usize>());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .unwrap_or_else(|| panic!("unclosed {{{{ in a template: {after:.40}"));
        let name = &after[..end];
        let value = values
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("template placeholder {{{{{name}}}}} has no value"))
            .1;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn placeholders_are_filled_once_and_values_are_not_searched() {
        assert_eq!(
            fill("a {{x}} b {{y}}{{x}}", &[("x", "{{y}}"), ("y", "1")]),
            "a {{y}} b 1{{y}}"
        );
        assert_eq!(fill("no placeholder\n", &[]), "no placeholder\n");
    }

    #[test]
    #[should_panic(expected = "has no value")]
    fn a_placeholder_without_a_value_is_a_bug() {
        fill("{{missing}}", &[("other", "")]);
    }
}
