//! Users' own programs in `lwm eval`: commands measured under every
//! allocator exactly like a workload (their name stands where a workload's
//! does in `raw/` and in every report), given as `-- PROGRAM ARGS`,
//! `--command NAME=CMD` or in a `--suite` file.
//!
//! On the board each command runs in its own directory,
//! `WORK_DIR/cmd/NAME/`, with the program (when it is a file on the host)
//! and its `--push` files copied there.

pub mod entry;
pub mod stdout_check;
pub mod suite;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::limits::KNOWN_WORKLOADS;

/// One user command, as the manifest records it (`settings.commands`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserCommand {
    /// Stands where a workload's name does: `raw/BOARD/NAME/`, report rows.
    pub name: String,
    /// The command as given; `argv[0]` is the host path when `program` is set.
    pub argv: Vec<String>,
    /// Absolute host path of the program when `argv[0]` is a file on the
    /// host: it is pushed beside the inputs and run from there. Null: the
    /// program is looked up in the board's PATH.
    pub program: Option<String>,
    /// Absolute host paths of the input files pushed beside the program.
    #[serde(default)]
    pub push: Vec<String>,
    /// Environment variables set for the command.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Seconds one run may take (default: the board's `timeouts.run_s`).
    #[serde(default)]
    pub timeout_s: Option<u64>,
    /// Each run under this RLIMIT_AS (the agent's `--limit-as`): the
    /// out-of-memory checks of `lwm qualify`. Absent: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_as_bytes: Option<u64>,
    /// Whether its stdout must be the same under every allocator
    /// (`stdout_check`). False (`--no-output-check`, a suite entry's
    /// `check_output = false`) for a program whose output legitimately
    /// changes from run to run; absent from the manifest when true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub check_output: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl UserCommand {
    /// The command's directory on the board, relative to its work_dir.
    pub fn board_dir_rel(&self) -> String {
        format!("cmd/{}", self.name)
    }

    /// The argv to run on the board whose work_dir is `work_dir`: a pushed
    /// program is named by its path there.
    pub fn board_argv(&self, work_dir: &str) -> Vec<String> {
        let mut argv = self.argv.clone();
        if let Some(p) = &self.program {
            argv[0] = format!("{work_dir}/{}/{}", self.board_dir_rel(), file_name(p));
        }
        argv
    }
}

/// The last component of a host path.
pub fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

/// Builds a command from its parts, checking each: `where_` prefixes every
/// error (`--command 'x=...'`, `suite.toml:4`). Relative paths (program and
/// pushes) are taken from `base`.
pub fn make(
    name: &str,
    argv: Vec<String>,
    push: &[String],
    env: BTreeMap<String, String>,
    timeout_s: Option<u64>,
    base: &Path,
    where_: &str,
) -> Result<UserCommand, String> {
    check_name(name).map_err(|e| format!("{where_}: {e}"))?;
    let Some(first) = argv.first() else {
        return Err(format!("{where_}: command `{name}` is empty"));
    };
    let local = base.join(first);
    let program = if local.is_file() {
        Some(absolute(&local).map_err(|e| format!("{where_}: {e}"))?)
    } else {
        None
    };
    let mut pushed = Vec::new();
    for p in push {
        let path = base.join(p);
        if !path.is_file() {
            return Err(format!(
                "{where_}: push file {} does not exist or is not a file",
                path.display()
            ));
        }
        pushed.push(absolute(&path).map_err(|e| format!("{where_}: {e}"))?);
    }
    // Everything lands in one directory on the board: one name, one file.
    let mut seen = BTreeMap::new();
    for p in program.iter().chain(&pushed) {
        if let Some(other) = seen.insert(file_name(p), p.clone()) {
            if &other != p {
                return Err(format!(
                    "{where_}: {other} and {p} would both be {} in the command's directory on the board",
                    file_name(p)
                ));
            }
        }
    }
    pushed.sort();
    pushed.dedup();
    pushed.retain(|p| Some(p) != program.as_ref());
    for (k, v) in &env {
        crate::transport::shell::check_env_name(k).map_err(|e| format!("{where_}: {e}"))?;
        crate::transport::shell::check_no_nul("environment value", v)
            .map_err(|e| format!("{where_}: {e}"))?;
        if k == "LD_PRELOAD" {
            return Err(format!(
                "{where_}: env LD_PRELOAD: the allocator under test is what lwm preloads"
            ));
        }
    }
    if timeout_s == Some(0) {
        return Err(format!("{where_}: timeout_s must be at least 1"));
    }
    Ok(UserCommand {
        name: name.to_string(),
        argv,
        program,
        push: pushed,
        env,
        timeout_s,
        limit_as_bytes: None,
        check_output: true,
    })
}

fn absolute(p: &Path) -> Result<String, String> {
    std::fs::canonicalize(p)
        .map(|a: PathBuf| a.display().to_string())
        .map_err(|e| format!("{}: {e}", p.display()))
}

/// A name is a directory on the board and in `raw/`, and a report row: a
/// few safe characters, and never a built-in workload's name.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'));
    if name.is_empty() || name.starts_with('.') || !ok_chars || name.len() > 64 {
        return Err(format!(
            "command name `{name}`: use up to 64 letters, digits, '-', '_', '.' and '+', not starting with '.'"
        ));
    }
    if KNOWN_WORKLOADS.contains(&name)
        || crate::limits::DURATION_WORKLOADS.contains(&name)
        || name == "all"
    {
        return Err(format!(
            "command name `{name}` is a built-in workload's; choose another (NAME=CMD)"
        ));
    }
    Ok(())
}

/// `--command NAME=CMD`: CMD split into words as a POSIX shell would
/// (quotes respected; no expansion).
pub fn parse_command_flag(text: &str, push: &[String], base: &Path) -> Result<UserCommand, String> {
    let where_ = format!("--command {text:?}");
    let Some((name, cmd)) = text.split_once('=') else {
        return Err(format!("{where_}: expected NAME=COMMAND"));
    };
    let argv = split_words(cmd).map_err(|e| format!("{where_}: {e}"))?;
    make(
        name.trim(),
        argv,
        push,
        BTreeMap::new(),
        None,
        base,
        &where_,
    )
}

/// Splits a command line into words as a POSIX shell would.
pub fn split_words(cmd: &str) -> Result<Vec<String>, String> {
    let words = shlex::split(cmd).ok_or("unbalanced quotes or a trailing backslash")?;
    if words.is_empty() {
        return Err("the command is empty".into());
    }
    Ok(words)
}

/// The name of `-- PROGRAM ARGS`: the program's file name.
pub fn default_name(argv: &[String]) -> String {
    argv.first().map(|p| file_name(p)).unwrap_or_default()
}

/// Refuses two commands with one name (their results would mix).
pub fn check_unique(commands: &[UserCommand]) -> Result<(), String> {
    for (i, c) in commands.iter().enumerate() {
        if commands[..i].iter().any(|o| o.name == c.name) {
            return Err(format!(
                "two commands are named `{}`: name them apart with --command NAME=CMD",
                c.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("my-app_1.2").is_ok());
        assert!(check_name("sqlite")
            .unwrap_err()
            .contains("built-in workload"));
        assert!(check_name("a/b").is_err());
        assert!(check_name(".hidden").is_err());
        assert!(check_name("").is_err());
    }

    #[test]
    fn command_flag_splits_shell_words() {
        let dir = std::env::temp_dir();
        let c = parse_command_flag("q=echo 'a b' \"c\"", &[], &dir).unwrap();
        assert_eq!(c.name, "q");
        assert_eq!(c.argv, ["echo", "a b", "c"]);
        assert!(c.program.is_none());
        assert!(parse_command_flag("echo", &[], &dir)
            .unwrap_err()
            .contains("NAME=COMMAND"));
        assert!(parse_command_flag("q=echo 'a", &[], &dir)
            .unwrap_err()
            .contains("unbalanced"));
        assert!(parse_command_flag("q=", &[], &dir)
            .unwrap_err()
            .contains("empty"));
    }

    #[test]
    fn a_local_program_is_pushed_and_named_on_the_board() {
        let dir = std::env::temp_dir().join(format!("lwm-cmd-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("prog"), b"#!/bin/sh\n").unwrap();
        std::fs::write(dir.join("in.txt"), b"x").unwrap();
        let c = make(
            "p",
            vec!["prog".into(), "in.txt".into()],
            &["in.txt".into()],
            BTreeMap::new(),
            None,
            &dir,
            "test",
        )
        .unwrap();
        assert!(c.program.as_deref().unwrap().ends_with("/prog"));
        assert_eq!(c.push.len(), 1);
        assert_eq!(c.board_argv("/w"), ["/w/cmd/p/prog", "in.txt"]);
        let missing = make(
            "p",
            vec!["prog".into()],
            &["nope.txt".into()],
            BTreeMap::new(),
            None,
            &dir,
            "test",
        );
        assert!(missing.unwrap_err().contains("nope.txt"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
