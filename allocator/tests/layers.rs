//! The crate's layers are real: each module uses only modules of lower
//! layers. This test reads the sources and fails on any `crate::` path
//! (in a `use` or inline) that names a module of the same or a higher
//! layer, so a new upward import cannot slip in. The order below is the
//! one documented in lib.rs.

use std::collections::BTreeMap;
use std::path::Path;

/// Bottom first. A module may use any module listed before it.
const LAYERS: &[&str] = &[
    "config", "fmt", "os", "tls", "lock", "header", "bins", "counters", "page", "large", "segment",
    "arena", "heap", "small", "shared", "thread", "init", "api", "stats", "global",
];

/// Every module named after `crate::` in `source`, with the line it is on;
/// a `crate::{...}` group may span lines.
fn uses(source: &str) -> Vec<(usize, String)> {
    let code: String = source
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(pos) = code[at..].find("crate::") {
        let start = at + pos + "crate::".len();
        let line = code[..start].matches('\n').count() + 1;
        let rest = &code[start..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            for item in inner.split(',') {
                let name = ident(item);
                if !name.is_empty() {
                    found.push((line, name));
                }
            }
        } else {
            found.push((line, ident(rest)));
        }
        at = start;
    }
    found
}

#[test]
fn every_module_uses_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rank: BTreeMap<&str, usize> = LAYERS.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let mut modules = Vec::new();
    let mut violations = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let module = path.file_stem().unwrap().to_str().unwrap().to_string();
        if path.extension().is_none_or(|e| e != "rs") || module == "lib" {
            continue;
        }
        modules.push(module.clone());
        let Some(&mine) = rank.get(module.as_str()) else {
            violations.push(format!("{module}.rs is in no layer: add it to LAYERS"));
            continue;
        };
        let source = std::fs::read_to_string(&path).unwrap();
        for (line, used) in uses(&source) {
            match rank.get(used.as_str()) {
                Some(&theirs) if theirs < mine => {}
                Some(_) if used == module => {}
                Some(_) => violations.push(format!(
                    "{module}.rs:{line} uses crate::{used}, a layer at or above its own"
                )),
                None => violations.push(format!(
                    "{module}.rs:{line} uses crate::{used}, which is in no layer"
                )),
            }
        }
    }
    assert!(
        modules.len() >= LAYERS.len() - 1,
        "sources not found in {}",
        src.display()
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_scanner_sees_grouped_and_inline_paths() {
    let found = uses("use crate::{a, b::c};\nlet x = crate::d::e(); // crate::f\nuse crate::{\n    g,\n    h,\n};\n");
    assert_eq!(
        found,
        [
            (1, "a".into()),
            (1, "b".into()),
            (2, "d".into()),
            (3, "g".into()),
            (3, "h".into())
        ]
    );
}
