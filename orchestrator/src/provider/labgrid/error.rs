//! What can go wrong between lwm and a labgrid coordinator, as the helper
//! (`helper.py`) reports it.

use serde::Deserialize;

/// Why a labgrid action failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// No Python with labgrid: scripts/setup-labgrid.sh was not run.
    NoLabgrid,
    /// The coordinator does not answer.
    Unreachable,
    /// The coordinator has no place of that name.
    UnknownPlace,
    /// Someone (this user included) holds the place.
    Held,
    /// Anything else: the helper failed, timed out, or said something else.
    Failed,
}

/// One line, without the board: callers put it in front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabgridError {
    pub kind: ErrorKind,
    pub message: String,
    /// Who holds the place (`HOST/USER`), for [`ErrorKind::Held`].
    pub holder: Option<String>,
}

impl LabgridError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        LabgridError {
            kind,
            message: one_line(&message.into()),
            holder: None,
        }
    }
}

impl std::fmt::Display for LabgridError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LabgridError {}

/// `text` with its lines joined by " | ", so that every error stays one line.
pub fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_stay_one_line() {
        assert_eq!(one_line("a\n\n  b  \nc"), "a | b | c");
        let e = LabgridError::new(ErrorKind::Failed, "x\ny");
        assert_eq!(e.to_string(), "x | y");
    }

    #[test]
    fn kinds_read_as_the_helper_writes_them() {
        let k: ErrorKind = serde_json::from_str("\"unknown_place\"").unwrap();
        assert_eq!(k, ErrorKind::UnknownPlace);
        let k: ErrorKind = serde_json::from_str("\"no_labgrid\"").unwrap();
        assert_eq!(k, ErrorKind::NoLabgrid);
    }
}
