//! Reading and appending OpenSSH known_hosts files.
//!
//! libssh2 makes the match decision (see `host_key.rs`); this module reads
//! the file line by line so that messages can name the line, marker lines
//! (`@revoked`, `@cert-authority`) get OpenSSH's meaning instead of a parse
//! error, and the host key algorithms already known for a host can be
//! preferred in the handshake.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The name a host is recorded under: `host` for port 22, `[host]:port`
/// otherwise (as OpenSSH writes it). Host names are compared lower-case.
pub fn lookup_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// One non-blank, non-comment line.
#[derive(Debug, Clone)]
pub struct Line {
    /// 1-based line number in the file.
    pub number: usize,
    pub text: String,
    pub kind: LineKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    /// `hosts keytype base64 [comment]`.
    Entry {
        hosts: Hosts,
        key_type: String,
        key_b64: String,
    },
    /// `@revoked hosts keytype base64`: this key must never be accepted.
    Revoked { key_b64: String },
    /// `@cert-authority ...`: host certificates are not supported, so such
    /// a line never makes a host known.
    CertAuthority,
    /// Too few fields to be an entry (libssh2 gets to reject it).
    Malformed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hosts {
    /// Comma-separated names, lower-cased.
    Plain(Vec<String>),
    /// `|1|salt|hash`: the name is not recoverable.
    Hashed,
}

impl Hosts {
    pub fn names(&self, lookup: &str) -> bool {
        matches!(self, Hosts::Plain(names) if names.iter().any(|n| n == lookup))
    }
}

/// Reads every meaningful line; a missing file reads as empty.
pub fn read_lines(path: &Path) -> io::Result<Vec<Line>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(parse(&text))
}

pub fn parse(text: &str) -> Vec<Line> {
    text.lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            Some(Line {
                number: i + 1,
                text: line.to_string(),
                kind: classify(line),
            })
        })
        .collect()
}

fn classify(line: &str) -> LineKind {
    let fields: Vec<&str> = line.split_whitespace().collect();
    match fields.first() {
        Some(&"@revoked") if fields.len() >= 4 => LineKind::Revoked {
            key_b64: fields[3].to_string(),
        },
        Some(&"@cert-authority") => LineKind::CertAuthority,
        Some(m) if m.starts_with('@') => LineKind::Malformed,
        _ if fields.len() >= 3 => {
            let hosts = if fields[0].starts_with('|') {
                Hosts::Hashed
            } else {
                Hosts::Plain(
                    fields[0]
                        .split(',')
                        .map(|h| h.to_ascii_lowercase())
                        .collect(),
                )
            };
            LineKind::Entry {
                hosts,
                key_type: fields[1].to_string(),
                key_b64: fields[2].to_string(),
            }
        }
        _ => LineKind::Malformed,
    }
}

/// Appends `lookup key_type key_b64` as a new line, creating the file
/// (mode 0600) and its directory if needed, and starting on a new line if
/// the file does not end with one.
pub fn append_entry(path: &Path, lookup: &str, key_type: &str, key_b64: &str) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            fs::create_dir_all(dir)?;
        }
    }
    let needs_newline = match fs::read(path) {
        Ok(bytes) => bytes.last().is_some_and(|b| *b != b'\n'),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(e),
    };
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    let lead = if needs_newline { "\n" } else { "" };
    // One write call so a concurrent reader never sees half a line.
    file.write_all(format!("{lead}{lookup} {key_type} {key_b64}\n").as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_names() {
        assert_eq!(lookup_name("Pi4.local", 22), "pi4.local");
        assert_eq!(lookup_name("127.0.0.1", 2222), "[127.0.0.1]:2222");
    }

    #[test]
    fn classifies_lines() {
        let text = "# comment\n\nhost1,[10.0.0.5]:2222 ssh-ed25519 AAAA c\n|1|c2FsdA==|aGFzaA== ssh-rsa BBBB\n@revoked * ssh-ed25519 CCCC\n@cert-authority *.lan ssh-ed25519 DDDD\njunk\n";
        let lines = parse(text);
        assert_eq!(
            lines.iter().map(|l| l.number).collect::<Vec<_>>(),
            [3, 4, 5, 6, 7]
        );
        match &lines[0].kind {
            LineKind::Entry {
                hosts,
                key_type,
                key_b64,
            } => {
                assert!(hosts.names("[10.0.0.5]:2222"));
                assert!(!hosts.names("10.0.0.5"));
                assert_eq!(
                    (key_type.as_str(), key_b64.as_str()),
                    ("ssh-ed25519", "AAAA")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            &lines[1].kind,
            LineKind::Entry {
                hosts: Hosts::Hashed,
                ..
            }
        ));
        assert_eq!(
            lines[2].kind,
            LineKind::Revoked {
                key_b64: "CCCC".into()
            }
        );
        assert_eq!(lines[3].kind, LineKind::CertAuthority);
        assert_eq!(lines[4].kind, LineKind::Malformed);
    }

    #[test]
    fn append_starts_a_new_line() {
        let dir = std::env::temp_dir().join(format!("lwm-kh-test-{}", std::process::id()));
        let path = dir.join("sub/known_hosts");
        let _ = fs::remove_dir_all(&dir);
        append_entry(&path, "[h]:2", "ssh-ed25519", "AAAA").unwrap();
        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"x y z")
            .unwrap();
        append_entry(&path, "h", "ssh-rsa", "BBBB").unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "[h]:2 ssh-ed25519 AAAA\nx y z\nh ssh-rsa BBBB\n"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
