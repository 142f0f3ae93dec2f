//! JUnit XML of a qualification, for CI systems: one test case per
//! requirement, except the C-level kinds (`c-conformance`, `threads-fork`),
//! which get one test case per check (`ID: basic_alloc/malloc_zero`). A
//! mandatory requirement (or check) that failed is a `<failure>`; an
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

/// The C-level kinds: one test case per check.
fn per_check(v: &Verdict) -> bool {
    matches!(v.kind, "c-conformance" | "threads-fork") && !v.checks.is_empty()
}

struct Case {
    classname: String,
    name: String,
    status: Status,
    mandatory: bool,
    message: String,
    out: String,
}

fn cases(v: &Verdict) -> Vec<Case> {
    let line = |c: &super::evaluate::CheckResult| {
        format!(
            "{}: {} ({}): {}; evidence: {}\n",
            c.name,
            super::bundle::status_word(c.status),
            c.threshold,
            c.found,
            c.evidence.join(" ")
        )
    };
    if per_check(v) {
        return v
            .checks
            .iter()
            .map(|c| Case {
                classname: format!("lwm.qualify.{}.{}", v.kind, v.id),
                name: format!("{}: {}", v.id, c.name),
                status: c.status,
                mandatory: v.mandatory,
                message: format!("{}: {}", c.name, c.found),
                out: format!("{}\n{}", v.description, line(c)),
            })
            .collect();
    }
    let mut out = format!("{}\n", v.description);
    for c in &v.checks {
        out.push_str(&line(c));
    }
    vec![Case {
        classname: format!("lwm.qualify.{}", v.kind),
        name: v.id.clone(),
        status: v.status,
        mandatory: v.mandatory,
        message: v.summary.clone(),
        out,
    }]
}

pub fn render(criteria: &str, board: &str, verdicts: &[Verdict]) -> String {
    let all: Vec<Case> = verdicts.iter().flat_map(cases).collect();
    let failures = all
        .iter()
        .filter(|c| c.mandatory && c.status == Status::Fail)
        .count();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<testsuites name=\"lwm qualify\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\">\n\
  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n",
        xml(&format!("{criteria} on {board}")),
        n = all.len(),
    ));
    for mut c in all {
        s.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\">\n",
            xml(&c.classname),
            xml(&c.name)
        ));
        match (c.status, c.mandatory) {
            (Status::Fail, true) => s.push_str(&format!(
                "      <failure message=\"{}\" type=\"requirement\">{}</failure>\n",
                xml(&c.message),
                xml(&c.out)
            )),
            (Status::Fail, false) => {
                c.out
                    .insert_str(0, &format!("ADVISORY REQUIREMENT FAILED: {}\n", c.message));
            }
            (Status::Pass, _) => {}
        }
        s.push_str(&format!(
            "      <system-out>{}</system-out>\n    </testcase>\n",
            xml(&c.out)
        ));
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::super::evaluate::{CheckResult, Status, Verdict};
    use super::{render, xml};

    fn verdict(
        id: &str,
        kind: &'static str,
        mandatory: bool,
        checks: &[(&str, Status)],
    ) -> Verdict {
        let failed = checks.iter().any(|(_, s)| *s == Status::Fail);
        Verdict {
            id: id.into(),
            description: "d".into(),
            kind,
            mandatory,
            evidence_rule: "e".into(),
            status: if failed { Status::Fail } else { Status::Pass },
            summary: "s".into(),
            checks: checks
                .iter()
                .map(|(n, s)| CheckResult {
                    name: n.to_string(),
                    found: format!("found {n}"),
                    threshold: "t".into(),
                    status: *s,
                    evidence: vec![],
                })
                .collect(),
        }
    }

    #[test]
    fn c_level_requirements_get_one_test_case_per_check_and_advisory_ones_never_fail() {
        let x = render(
            "c",
            "b",
            &[
                verdict(
                    "G",
                    "isa-gate",
                    true,
                    &[("g1", Status::Pass), ("g2", Status::Pass)],
                ),
                verdict(
                    "C",
                    "c-conformance",
                    true,
                    &[("aligned/a", Status::Fail), ("aligned/b", Status::Pass)],
                ),
                verdict("T", "threads-fork", false, &[("stress", Status::Fail)]),
            ],
        );
        assert!(x.contains("tests=\"4\" failures=\"1\""), "{x}");
        assert!(x.contains("name=\"C: aligned/a\""), "{x}");
        assert!(
            x.contains("<failure message=\"aligned/a: found aligned/a\""),
            "{x}"
        );
        assert!(
            x.contains("ADVISORY REQUIREMENT FAILED: stress: found stress"),
            "{x}"
        );
        assert_eq!(x.matches("<failure ").count(), 1, "{x}");
    }

    #[test]
    fn text_is_escaped_and_characters_xml_cannot_hold_are_replaced() {
        assert_eq!(xml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(xml("bell\u{7}tab\t"), "bell?tab\t");
    }
}
