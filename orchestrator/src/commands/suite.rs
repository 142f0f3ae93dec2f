//! `--suite FILE`: a team's benchmark list, kept in its own repository.
//!
//! ```toml
//! [[command]]
//! name = "parse-config"                     # a report row; not a built-in workload's name
//! command = "python3 parse.py config.json"  # split into words as a POSIX shell would
//! push = ["parse.py", "config.json"]        # optional: copied beside the program on the board
//! env = { PYTHONHASHSEED = "0" }            # optional
//! timeout_s = 120                           # optional: one run's limit (default: the board's)
//! check_output = false                      # optional: do not compare its stdout across allocators
//! ```
//!
//! Relative paths (the program, `push`) are taken from the suite file's
//! directory. Every error is one line naming the file and the line.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::entry::{line_of, toml_error, CommandEntry};
use super::UserCommand;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    #[serde(default)]
    command: Vec<Spanned<CommandEntry>>,
}

/// Reads the suite at `path`.
pub fn load(path: &Path) -> Result<Vec<UserCommand>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--suite {}: cannot read: {e}", path.display()))?;
    let raw: RawSuite =
        toml::from_str(&text).map_err(|e| toml_error(&path.display().to_string(), &text, &e))?;
    if raw.command.is_empty() {
        return Err(format!(
            "{}: no [[command]] entries (each needs name and command)",
            path.display()
        ));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for entry in raw.command {
        let where_ = format!("{}:{}", path.display(), line_of(&text, entry.span().start));
        out.push(entry.get_ref().to_command(base, &where_)?);
    }
    super::check_unique(&out).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::load;

    fn suite(tag: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lwm-suite-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("in.txt"), b"x").unwrap();
        let p = dir.join("suite.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_suite_reads_its_commands() {
        let p = suite(
            "ok",
            "[[command]]\nname = \"a\"\ncommand = \"cat in.txt\"\npush = [\"in.txt\"]\nenv = { X = \"1\" }\ntimeout_s = 9\n\n[[command]]\nname = \"b\"\ncommand = \"true\"\n",
        );
        let c = load(&p).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].argv, ["cat", "in.txt"]);
        assert_eq!(c[0].push.len(), 1);
        assert_eq!(c[0].env["X"], "1");
        assert_eq!(c[0].timeout_s, Some(9));
        assert_eq!(c[1].name, "b");
        assert!(c[0].check_output && c[1].check_output);
    }

    #[test]
    fn check_output_false_turns_the_stdout_check_off_for_that_entry() {
        let p = suite(
            "unchecked",
            "[[command]]\nname = \"a\"\ncommand = \"date\"\ncheck_output = false\n\n[[command]]\nname = \"b\"\ncommand = \"true\"\ncheck_output = true\n",
        );
        let c = load(&p).unwrap();
        assert!(!c[0].check_output);
        assert!(c[1].check_output);
        let p = suite(
            "badcheck",
            "[[command]]\nname = \"a\"\ncommand = \"date\"\ncheck_output = \"no\"\n",
        );
        let e = load(&p).unwrap_err();
        assert!(e.contains("suite.toml:4:") && e.contains("bool"), "{e}");
    }

    #[test]
    fn errors_name_file_and_line() {
        let p = suite("typo", "[[command]]\nname = \"a\"\ncomand = \"true\"\n");
        let e = load(&p).unwrap_err();
        assert!(e.contains("suite.toml:3:"), "{e}");
        assert!(e.contains("comand"), "{e}");
        let p = suite(
            "clash",
            "[[command]]\nname = \"x\"\ncommand = \"true\"\n\n[[command]]\nname = \"larson\"\ncommand = \"true\"\n",
        );
        let e = load(&p).unwrap_err();
        assert!(
            e.contains("suite.toml:5:") && e.contains("built-in workload"),
            "{e}"
        );
        let p = suite(
            "push",
            "[[command]]\nname = \"x\"\ncommand = \"true\"\npush = [\"gone.txt\"]\n",
        );
        let e = load(&p).unwrap_err();
        assert!(e.contains("suite.toml:1:") && e.contains("gone.txt"), "{e}");
        assert!(!e.contains('\n'));
    }
}
