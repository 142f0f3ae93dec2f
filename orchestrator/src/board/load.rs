//! Reading and validating profile files.

use std::path::Path;

use super::BoardProfile;

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

/// Loads board `name` from `boards_dir/NAME.toml`, resolving `extends`.
pub fn load(boards_dir: &Path, name: &str) -> Result<BoardProfile, BoardError> {
    let _ = (boards_dir, name);
    todo!("board loading")
}

/// Loads every `*.toml` profile in `boards_dir`, sorted by name.
pub fn load_all(boards_dir: &Path) -> Result<Vec<BoardProfile>, BoardError> {
    let _ = boards_dir;
    todo!("board loading")
}
