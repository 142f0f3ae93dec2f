//! The files of one `extends` chain: read and parsed one by one (a
//! mistyped field is reported in its own file and line), then hashed
//! together, and the `file:line` of every value for messages.

use std::path::{Path, PathBuf};

use super::load::{err, valid_name, BoardError};
use super::raw::{RawProfile, Sourced};

/// The files of one `extends` chain, root first.
pub(super) struct Chain {
    pub(super) paths: Vec<PathBuf>,
    pub(super) texts: Vec<String>,
}

impl Chain {
    /// `file:line` of a span in chain file `file`.
    fn at(&self, file: usize, span: &std::ops::Range<usize>) -> String {
        let text = &self.texts[file];
        let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
        format!("{}:{}", self.paths[file].display(), line)
    }

    pub(super) fn at_value<T>(&self, v: &Sourced<T>) -> String {
        self.at(v.file, &v.span)
    }

    pub(super) fn leaf(&self) -> &Path {
        self.paths.last().expect("a chain has at least one file")
    }

    /// The error for a required field the chain does not set.
    pub(super) fn missing(&self, field: &str) -> BoardError {
        let inherited = if self.paths.len() > 1 {
            " (set neither here nor in the profiles it extends)"
        } else {
            ""
        };
        err(format!(
            "{}: missing field `{field}`{inherited}",
            self.leaf().display()
        ))
    }
}

/// Reads `leaf` (or takes its text, when given) and every profile it
/// extends, root first.
pub(super) fn read_chain(
    leaf: &Path,
    mut leaf_text: Option<String>,
) -> Result<(Chain, Vec<RawProfile>), BoardError> {
    let mut paths = Vec::new();
    let mut texts = Vec::new();
    let mut raws = Vec::new();
    let mut next = Some(leaf.to_path_buf());
    while let Some(path) = next.take() {
        if paths.contains(&path) {
            let cycle: Vec<String> = paths
                .iter()
                .chain(std::iter::once(&path))
                .map(|p: &PathBuf| p.display().to_string())
                .collect();
            return Err(err(format!(
                "{}: `extends` forms a cycle: {}",
                leaf.display(),
                cycle.join(" -> ")
            )));
        }
        let text = match leaf_text.take() {
            Some(t) => t,
            None => std::fs::read_to_string(&path)
                .map_err(|e| err(format!("{}: cannot read: {e}", path.display())))?,
        };
        let raw: RawProfile = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .map(|l| format!(":{l}"))
                .unwrap_or_default();
            let msg = e.message().replace('\n', " ");
            // serde names the field of an unknown or missing one, not of a
            // wrongly typed value; the span says where that value is.
            let field = match e.span() {
                Some(span) if !msg.contains("field") => field_at(&text, span.start)
                    .map(|f| format!(" field `{f}`:"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            err(format!("{}{line}:{field} {}", path.display(), msg.trim()))
        })?;
        if let Some(parent) = &raw.extends {
            let parent_name = parent.get_ref();
            let dir = path.parent().unwrap_or(Path::new("."));
            let parent_path = dir.join(format!("{parent_name}.toml"));
            if !valid_name(parent_name) || !parent_path.is_file() {
                let line = text[..parent.span().start].matches('\n').count() + 1;
                return Err(err(format!(
                    "{}:{line}: field `extends`: no profile `{parent_name}` in {}",
                    path.display(),
                    dir.display()
                )));
            }
            next = Some(parent_path);
        }
        paths.push(path);
        texts.push(text);
        raws.push(raw);
    }
    paths.reverse();
    texts.reverse();
    raws.reverse();
    Ok((Chain { paths, texts }, raws))
}

/// The dotted name (`transport.port`) of the key whose value is at byte
/// `at` of profile text `text`: the key on that line, under the last
/// `[table]` header above it.
fn field_at(text: &str, at: usize) -> Option<String> {
    let at = at.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let (key, _) = text[line_start..line_end].split_once('=')?;
    let key = key.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && !l.starts_with("[["))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    })
}

/// A path on this machine written in a profile: `~/` is the home
/// directory, a relative path is relative to the file that wrote it.
pub(super) fn path_in(chain: &Chain, v: &Sourced<String>) -> PathBuf {
    let expanded = expand_home(&v.value);
    if expanded.is_absolute() {
        expanded
    } else {
        chain.paths[v.file]
            .parent()
            .unwrap_or(Path::new("."))
            .join(expanded)
    }
}

pub(super) fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// SHA-256 over every file of the chain, root first, each preceded by its
/// length so that moving text between files changes the hash.
pub(super) fn chain_sha256(chain: &Chain) -> String {
    let mut all = Vec::new();
    for t in &chain.texts {
        all.extend_from_slice(format!("{}\n", t.len()).as_bytes());
        all.extend_from_slice(t.as_bytes());
    }
    lwm_contract::sha256::sha256_hex(&all)
}
