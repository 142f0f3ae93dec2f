//! The human report of a qualification: Markdown and one self-contained
//! HTML page with the same content (verdicts, then the traceability of
//! every requirement to its checks, results and evidence files, then the
//! facts and the scope).

use super::bundle::status_word;
use super::criteria::Criteria;
use super::evaluate::{Status, Verdict};

pub struct Context<'a> {
    pub criteria: &'a Criteria,
    pub verdicts: &'a [Verdict],
    pub board: &'a str,
    pub facts: &'a serde_json::Value,
    pub qualified: bool,
}

/// What a bundle does not prove, stated in every report.
pub const SCOPE: &str = "This bundle shows how the artifacts listed (by SHA-256) behaved on this board, \
with this build and these criteria, at the time recorded. It does not prove the absence of defects, \
behaviour under workloads, programs, C-level checks or limits not listed, on other boards or kernels, \
or with other builds; what the criteria file does not require was not checked.";

fn headline(cx: &Context) -> String {
    let failed: Vec<&str> = cx
        .verdicts
        .iter()
        .filter(|v| v.mandatory && v.status == Status::Fail)
        .map(|v| v.id.as_str())
        .collect();
    if cx.qualified {
        format!(
            "QUALIFIED: every mandatory requirement of {} passed on board {}",
            cx.criteria.name, cx.board
        )
    } else if failed.is_empty() {
        format!(
            "NOT QUALIFIED: the campaign on board {} was interrupted",
            cx.board
        )
    } else {
        format!(
            "NOT QUALIFIED on board {}: {} failed",
            cx.board,
            failed.join(", ")
        )
    }
}

fn fact(cx: &Context, path: &[&str]) -> String {
    let mut v = cx.facts;
    for p in path {
        v = &v[*p];
    }
    match v {
        serde_json::Value::Null => "unknown".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn facts_rows(cx: &Context) -> Vec<(&'static str, String)> {
    vec![
        (
            "criteria",
            format!(
                "{} ({})",
                cx.criteria.name,
                fact(cx, &["criteria", "sha256"])
            ),
        ),
        ("board", cx.board.to_string()),
        ("board description", fact(cx, &["board", "description"])),
        ("target", fact(cx, &["board", "target"])),
        ("cpu", fact(cx, &["board", "cpu"])),
        ("emulation", fact(cx, &["board", "emulation"])),
        ("project commit", fact(cx, &["project_commit"])),
        ("tree dirty", fact(cx, &["project_dirty"])),
        ("rustc", fact(cx, &["toolchain", "rustc"])),
        ("lwm", fact(cx, &["lwm_version"])),
    ]
}

pub fn markdown(cx: &Context) -> String {
    let mut s = format!(
        "# Qualification of lwmalloc: {}\n\n**{}**\n\n{}\n\n",
        cx.criteria.name,
        headline(cx),
        cx.criteria.description
    );
    s.push_str("## Verdicts\n\n| requirement | kind | mandatory | verdict | why |\n| --- | --- | --- | --- | --- |\n");
    for v in cx.verdicts {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            md(&v.id),
            v.kind,
            if v.mandatory { "yes" } else { "advisory" },
            status_word(v.status).to_uppercase(),
            md(&v.summary)
        ));
    }
    s.push_str("\n## Traceability\n\n");
    for v in cx.verdicts {
        s.push_str(&format!(
            "### {}: {}\n\n{}\n\nDecided by: {}\n\n| check | found | threshold | result | evidence |\n| --- | --- | --- | --- | --- |\n",
            md(&v.id),
            status_word(v.status).to_uppercase(),
            md(&v.description),
            md(&v.evidence_rule)
        ));
        for c in &v.checks {
            let files: Vec<String> = c.evidence.iter().map(|f| format!("`{f}`")).collect();
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                md(&c.name),
                md(&c.found),
                md(&c.threshold),
                status_word(c.status),
                files.join("<br>")
            ));
        }
        s.push('\n');
    }
    s.push_str("## Facts\n\n| | |\n| --- | --- |\n");
    for (k, v) in facts_rows(cx) {
        s.push_str(&format!("| {k} | {} |\n", md(&v)));
    }
    s.push_str(&format!(
        "\nThe campaign's own reports are in `{}/` (report.md, report.html).\n\n## Scope\n\n{SCOPE}\n",
        super::RUN_REL
    ));
    s
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn html(cx: &Context) -> String {
    let mut s = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    s.push_str(&format!(
        "<title>Qualification {} on {}</title>\n<style>body{{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}}\
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #bbb;padding:.3em .6em;text-align:left;vertical-align:top}}\
.pass{{color:#060;font-weight:bold}}.fail{{color:#b00;font-weight:bold}}code{{font-size:90%}}</style>\n</head><body>\n",
        esc(&cx.criteria.name),
        esc(cx.board)
    ));
    let class = if cx.qualified { "pass" } else { "fail" };
    s.push_str(&format!(
        "<h1>Qualification of lwmalloc: {}</h1>\n<p id=\"headline\" class=\"{class}\">{}</p>\n<p>{}</p>\n",
        esc(&cx.criteria.name),
        esc(&headline(cx)),
        esc(&cx.criteria.description)
    ));
    s.push_str("<h2>Verdicts</h2>\n<table id=\"verdicts\"><tr><th>requirement</th><th>kind</th><th>mandatory</th><th>verdict</th><th>why</th></tr>\n");
    for v in cx.verdicts {
        let w = status_word(v.status);
        s.push_str(&format!(
            "<tr><td><a href=\"#{id}\">{id}</a></td><td>{}</td><td>{}</td><td class=\"{w}\">{}</td><td>{}</td></tr>\n",
            v.kind,
            if v.mandatory { "yes" } else { "advisory" },
            w.to_uppercase(),
            esc(&v.summary),
            id = esc(&v.id),
        ));
    }
    s.push_str("</table>\n<h2>Traceability</h2>\n");
    for v in cx.verdicts {
        let w = status_word(v.status);
        s.push_str(&format!(
            "<h3 id=\"{id}\">{id}: <span class=\"{w}\">{}</span></h3>\n<p>{}</p><p>Decided by: {}</p>\n\
<table><tr><th>check</th><th>found</th><th>threshold</th><th>result</th><th>evidence</th></tr>\n",
            w.to_uppercase(),
            esc(&v.description),
            esc(&v.evidence_rule),
            id = esc(&v.id),
        ));
        for c in &v.checks {
            let cw = status_word(c.status);
            let files: Vec<String> = c
                .evidence
                .iter()
                .map(|f| format!("<a href=\"{0}\"><code>{0}</code></a>", esc(f)))
                .collect();
            s.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{cw}\">{cw}</td><td>{}</td></tr>\n",
                esc(&c.name),
                esc(&c.found),
                esc(&c.threshold),
                files.join("<br>")
            ));
        }
        s.push_str("</table>\n");
    }
    s.push_str("<h2>Facts</h2>\n<table>\n");
    for (k, v) in facts_rows(cx) {
        s.push_str(&format!("<tr><th>{k}</th><td>{}</td></tr>\n", esc(&v)));
    }
    s.push_str(&format!(
        "</table>\n<p>The campaign's own reports: <a href=\"{0}/report.html\">{0}/report.html</a>.</p>\n<h2>Scope</h2>\n<p>{1}</p>\n</body></html>\n",
        super::RUN_REL,
        esc(SCOPE)
    ));
    s
}
