//! JUnit XML of a qualification, for CI systems: one test case per
//! requirement. A mandatory requirement that failed is a `<failure>`; an
//! advisory one that failed passes with its reason in `<system-out>`, so
//! that CI fails exactly when `lwm qualify` exits non-zero.

use super::evaluate::{Status, Verdict};

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot hold.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

pub fn render(criteria: &str, board: &str, verdicts: &[Verdict]) -> String {
    let failures = verdicts
        .iter()
        .filter(|v| v.mandatory && v.status == Status::Fail)
        .count();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<testsuites name=\"lwm qualify\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\">\n\
  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n",
        xml(&format!("{criteria} on {board}")),
        n = verdicts.len(),
    ));
    for v in verdicts {
        s.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\">\n",
            xml(&format!("lwm.qualify.{}", v.kind)),
            xml(&v.id)
        ));
        let mut out = format!("{}\n", v.description);
        for c in &v.checks {
            out.push_str(&format!(
                "{}: {} ({}): {}; evidence: {}\n",
                c.name,
                super::bundle::status_word(c.status),
                c.threshold,
                c.found,
                c.evidence.join(" ")
            ));
        }
        match (v.status, v.mandatory) {
            (Status::Fail, true) => s.push_str(&format!(
                "      <failure message=\"{}\" type=\"requirement\">{}</failure>\n",
                xml(&v.summary),
                xml(&out)
            )),
            (Status::Fail, false) => {
                out.insert_str(0, &format!("ADVISORY REQUIREMENT FAILED: {}\n", v.summary));
            }
            (Status::Pass, _) => {}
        }
        s.push_str(&format!(
            "      <system-out>{}</system-out>\n    </testcase>\n",
            xml(&out)
        ));
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::xml;

    #[test]
    fn text_is_escaped_and_characters_xml_cannot_hold_are_replaced() {
        assert_eq!(xml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(xml("bell\u{7}tab\t"), "bell?tab\t");
    }
}
