//! The command line sent to the board's login shell for one `exec`.
//!
//! ```text
//! printf 'lwm-pid %s\n' "$$"; cd '/work/dir' || exit 125; export A='1'; exec 'argv0' 'argv 1'
//! ```
//!
//! sshd starts the login shell in a new session, so its pid is also its
//! process group id; `exec` keeps that pid for the command. The first
//! stdout line therefore names the process group to kill on timeout. Every
//! word is single-quoted, so the remote shell expands nothing.

use crate::transport::shell::{check_env_name, check_no_nul, quote};

const PID_MARKER: &[u8] = b"lwm-pid ";

/// Builds the remote command line; an error names the bad argument.
pub fn remote_command(
    work_dir: &str,
    argv: &[String],
    env: &[(String, String)],
) -> Result<String, String> {
    if argv.is_empty() {
        return Err("empty command".into());
    }
    let mut line = format!(
        "printf 'lwm-pid %s\\n' \"$$\"; cd {} || exit 125; ",
        quote(work_dir)
    );
    for (name, value) in env {
        check_env_name(name)?;
        check_no_nul("environment value", value)?;
        line.push_str(&format!("export {name}={}; ", quote(value)));
    }
    line.push_str("exec");
    for arg in argv {
        check_no_nul("argument", arg)?;
        line.push(' ');
        line.push_str(&quote(arg));
    }
    Ok(line)
}

/// Splits the pid line off the command's stdout. Anything before it was
/// printed by the login shell's start-up files, not by the command, and is
/// dropped with it. Without a marker the output is returned unchanged.
pub fn split_pid(stdout: &[u8]) -> (Option<u32>, &[u8]) {
    let start = if stdout.starts_with(PID_MARKER) {
        Some(0)
    } else {
        stdout
            .windows(PID_MARKER.len() + 1)
            .position(|w| w[0] == b'\n' && &w[1..] == PID_MARKER)
            .map(|p| p + 1)
    };
    let Some(start) = start else {
        return (None, stdout);
    };
    let rest = &stdout[start + PID_MARKER.len()..];
    let Some(end) = rest.iter().position(|b| *b == b'\n') else {
        return (None, stdout);
    };
    let pid = std::str::from_utf8(&rest[..end])
        .ok()
        .and_then(|s| s.trim().parse().ok());
    (pid, &rest[end + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_quoted_line() {
        let argv = vec!["./run me".to_string(), "it's $x".to_string()];
        let env = vec![("A_1".to_string(), "v w".to_string())];
        assert_eq!(
            remote_command("/w d", &argv, &env).unwrap(),
            "printf 'lwm-pid %s\\n' \"$$\"; cd '/w d' || exit 125; export A_1='v w'; exec './run me' 'it'\\''s $x'"
        );
        assert!(remote_command("/w", &[], &[]).is_err());
        assert!(remote_command("/w", &argv, &[("A-B".into(), "1".into())]).is_err());
    }

    #[test]
    fn the_line_runs_in_a_real_shell() {
        let dir = std::env::temp_dir();
        let argv = vec![
            "sh".into(),
            "-c".into(),
            "printf '%s|%s|%s' \"$PWD\" \"$V\" \"$1\"".into(),
            "x".into(),
            "a 'b' $c".into(),
        ];
        let env = vec![("V".to_string(), "\"q\" $HOME".to_string())];
        let line = remote_command(dir.to_str().unwrap(), &argv, &env).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .output()
            .unwrap();
        let (pid, rest) = split_pid(&out.stdout);
        assert!(pid.is_some());
        let canon = std::fs::canonicalize(&dir).unwrap();
        assert_eq!(
            String::from_utf8_lossy(rest),
            format!("{}|\"q\" $HOME|a 'b' $c", canon.display())
        );
    }

    #[test]
    fn splits_the_pid_line() {
        assert_eq!(split_pid(b"lwm-pid 42\nout"), (Some(42), &b"out"[..]));
        assert_eq!(split_pid(b"motd\nlwm-pid 7\n"), (Some(7), &b""[..]));
        assert_eq!(split_pid(b"plain"), (None, &b"plain"[..]));
        assert_eq!(split_pid(b"lwm-pid 4"), (None, &b"lwm-pid 4"[..]));
    }
}
