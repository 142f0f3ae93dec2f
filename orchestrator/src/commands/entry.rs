//! The parts of a TOML file of commands that a `--suite` file and a
//! qualification's criteria file share: one `[[command]]` table, and errors
//! that name the file and line.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::UserCommand;

/// One command table: `name`, `command` (shell words), optional `push`,
/// `env`, `timeout_s` and `check_output`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandEntry {
    name: String,
    command: String,
    #[serde(default)]
    push: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    timeout_s: Option<u64>,
    /// False: the command's stdout is not compared across allocators.
    pub check_output: Option<bool>,
}

impl CommandEntry {
    /// The command this table describes; `where_` prefixes every error and
    /// relative paths (the program, `push`) are taken from `base`.
    pub fn to_command(&self, base: &Path, where_: &str) -> Result<UserCommand, String> {
        let argv = super::split_words(&self.command)
            .map_err(|e| format!("{where_}: command `{}`: {e}", self.name))?;
        let mut c = super::make(
            &self.name,
            argv,
            &self.push,
            self.env.clone(),
            self.timeout_s,
            base,
            where_,
        )?;
        c.check_output = self.check_output.unwrap_or(true);
        Ok(c)
    }
}

/// The line (from 1) of byte `offset` of `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A TOML error in `file` as one line: `FILE:LINE: message`.
pub fn toml_error(file: &str, text: &str, e: &toml::de::Error) -> String {
    let line = e
        .span()
        .map(|s| format!(":{}", line_of(text, s.start)))
        .unwrap_or_default();
    format!("{file}{line}: {}", e.message().replace('\n', " ").trim())
}
