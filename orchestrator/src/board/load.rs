//! Reading and validating profile files.
//!
//! A profile is read in two steps. Each file of the `extends` chain is first
//! parsed on its own against [`RawProfile`](super::raw::RawProfile), so an
//! unknown or mistyped field is reported in the file and line where it is
//! written (`chain.rs`). The chain is then merged (later files override
//! earlier ones field by field) and the result checked as a whole
//! (`resolve.rs`, with how the board is reached in `reach.rs`); a bad value
//! is reported where it was set.

use std::path::Path;

use super::chain::read_chain;
use super::profile::BoardProfile;
use super::raw::Merged;
use super::resolve::resolve;

/// A profile that cannot be used. Its `Display` is one line naming the
/// file, the line and the field where it applies.
#[derive(Debug)]
pub struct BoardError(pub String);

impl std::fmt::Display for BoardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BoardError {}

pub(super) fn err(msg: String) -> BoardError {
    BoardError(msg)
}

/// Loads board `name` from `boards_dir/NAME.toml`, resolving `extends`.
pub fn load(boards_dir: &Path, name: &str) -> Result<BoardProfile, BoardError> {
    let path = boards_dir.join(format!("{name}.toml"));
    if !path.is_file() {
        let known = board_names(boards_dir).unwrap_or_default();
        return Err(err(format!(
            "unknown board `{name}`: no {} (boards in {}: {})",
            path.display(),
            boards_dir.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    load_file(&path)
}

/// Loads every board profile in `boards_dir` (files named `_*.toml` are
/// bases for `extends`, not boards), sorted by name.
pub fn load_all(boards_dir: &Path) -> Result<Vec<BoardProfile>, BoardError> {
    board_names(boards_dir)?
        .iter()
        .map(|n| load(boards_dir, n))
        .collect()
}

/// Names of the boards (not the `_` bases) in `boards_dir`, sorted.
pub fn board_names(boards_dir: &Path) -> Result<Vec<String>, BoardError> {
    let entries = std::fs::read_dir(boards_dir).map_err(|e| {
        err(format!(
            "{}: cannot list board profiles: {e}",
            boards_dir.display()
        ))
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let p = e.path();
            let stem = p.file_stem()?.to_str()?.to_string();
            (p.extension()? == "toml" && !stem.starts_with('_')).then_some(stem)
        })
        .collect();
    names.sort();
    Ok(names)
}

/// Loads the profile in `path` (its board name is the file stem).
pub fn load_file(path: &Path) -> Result<BoardProfile, BoardError> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| err(format!("{}: not a profile file name", path.display())))?
        .to_string();
    if !valid_name(&name) {
        return Err(err(format!(
            "{}: board name `{name}` (the file name) must be lower-case letters, digits, '-', '_' or '.'",
            path.display()
        )));
    }
    let (chain, raws) = read_chain(path, None)?;
    let mut merged = Merged::default();
    for (i, raw) in raws.into_iter().enumerate() {
        merged.apply(raw, i);
    }
    resolve(name, &chain, merged)
}

/// A profile that is no file: `text` as if read from `path` (which names
/// it in errors), resolved with the profiles it extends, under `name`.
pub(super) fn load_text(name: &str, path: &Path, text: String) -> Result<BoardProfile, BoardError> {
    let (chain, raws) = read_chain(path, Some(text))?;
    let mut merged = Merged::default();
    for (i, raw) in raws.into_iter().enumerate() {
        merged.apply(raw, i);
    }
    resolve(name.to_string(), &chain, merged)
}

/// A board, allocator or image name: lower-case letters, digits, `-`, `_`
/// and `.`, not starting with `-` or `.`.
pub(super) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}
