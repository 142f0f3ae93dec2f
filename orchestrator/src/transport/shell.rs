//! Argument checks and POSIX shell quoting shared by the transports.

/// Quotes `s` as one word for a POSIX shell: wrapped in single quotes, an
/// embedded `'` written as `'\''`. Nothing inside single quotes is special,
/// so `$`, `"`, `\`, spaces and newlines pass through unchanged.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Checks an argument or environment value can be passed at all (a NUL
/// byte cannot be part of an exec argument).
pub fn check_no_nul(what: &str, s: &str) -> Result<(), String> {
    if s.contains('\0') {
        Err(format!("{what} {s:?} contains a NUL byte"))
    } else {
        Ok(())
    }
}

/// Checks an environment variable name: `[A-Za-z_][A-Za-z0-9_]*`, the names
/// a POSIX shell can assign.
pub fn check_env_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic());
    if first_ok && chars.all(|c| c == '_' || c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(format!(
            "environment variable name {name:?} is not a valid shell name"
        ))
    }
}

/// Checks a path relative to the work directory: `/`-separated, not
/// absolute, no empty, `.` or `..` component, no NUL or newline (so it stays
/// inside work_dir and fits one line of a checksum listing).
pub fn check_remote_rel(rel: &str) -> Result<(), String> {
    let bad = rel.is_empty()
        || rel.starts_with('/')
        || rel.contains(['\0', '\n', '\r'])
        || rel
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        Err(format!(
            "remote path {rel:?} must be relative to work_dir, `/`-separated, without empty, `.` or `..` parts"
        ))
    } else {
        Ok(())
    }
}

/// Checks a permission mode fits in the Unix permission bits.
pub fn check_mode(rel: &str, mode: i32) -> Result<(), String> {
    if (0..=0o7777).contains(&mode) {
        Ok(())
    } else {
        Err(format!(
            "mode {mode:o} for {rel:?} is not a Unix permission mode"
        ))
    }
}

/// Checks a board's work directory: absolute, not `/` itself, no NUL.
pub fn check_work_dir(dir: &str) -> Result<(), String> {
    if !dir.starts_with('/') || dir.trim_end_matches('/').is_empty() || dir.contains('\0') {
        Err(format!(
            "work_dir {dir:?} must be an absolute directory other than /"
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_keeps_specials_literal() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's $HOME"), "'it'\\''s $HOME'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn quoted_words_survive_a_real_shell() {
        let args = [
            "a b",
            "it's",
            "$HOME",
            "\"q\"",
            "back\\slash",
            "new\nline",
            "",
            "*",
        ];
        let script = format!(
            "printf '%s\\0' {}",
            args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        let got: Vec<&[u8]> = out.stdout.split(|b| *b == 0).collect();
        let want: Vec<&[u8]> = args
            .iter()
            .map(|a| a.as_bytes())
            .chain([&b""[..]])
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn remote_rel_rules() {
        assert!(check_remote_rel("bin/lwm-agent").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "a//b",
            "./a",
            "a/",
            "a\nb",
            "..",
        ] {
            assert!(check_remote_rel(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn env_names() {
        assert!(check_env_name("LD_PRELOAD").is_ok());
        assert!(check_env_name("_x1").is_ok());
        for bad in ["", "1A", "A-B", "A B", "A=B"] {
            assert!(check_env_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn work_dir_rules() {
        assert!(check_work_dir("/tmp/lwm").is_ok());
        for bad in ["tmp/lwm", "/", "//", ""] {
            assert!(check_work_dir(bad).is_err(), "{bad:?} accepted");
        }
    }
}
