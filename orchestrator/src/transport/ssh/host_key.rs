//! Host key verification against a known_hosts file, failing closed.
//!
//! libssh2 decides whether the offered key matches (`KnownHosts::check` on
//! the name OpenSSH uses: `host` for port 22, `[host]:port` otherwise — a
//! plain `host` entry does not vouch for another port). Any doubt refuses
//! the connection: a changed key always, an unknown host unless the policy
//! is accept-new, a check that cannot be made, a revoked key.

use ssh2::{KnownHostFileKind, MethodType, Session};

use super::base64;
use super::endpoint::Endpoint;
use super::known_hosts::{append_entry, lookup_name, Hosts, Line, LineKind};
use crate::board::{HostKeyPolicy, SshSettings};
use crate::transport::error::ErrorKind;
use crate::transport::TransportError;
use lwm_contract::sha256::sha256;

/// Host key algorithms libssh2 may negotiate, in OpenSSH's order of
/// preference (ed25519 first). Certificate algorithms are left out: a
/// certificate is not a key that known_hosts lists.
const HOST_KEY_ALGORITHMS: &[&str] = &[
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
    "ssh-rsa",
];

/// Before the handshake: asks first for the key types known_hosts already
/// holds for this host (as OpenSSH does), so a server with several host
/// keys offers the one that can be checked instead of a "changed" one.
pub fn prefer_known_algorithms(
    session: &Session,
    lines: &[Line],
    lookup: &str,
) -> Result<(), ssh2::Error> {
    let supported = session.supported_algs(MethodType::HostKey)?;
    let mut order: Vec<&str> = Vec::new();
    for line in lines {
        if let LineKind::Entry {
            hosts, key_type, ..
        } = &line.kind
        {
            if hosts.names(lookup) {
                order.extend(algorithms_for(key_type));
            }
        }
    }
    order.extend(HOST_KEY_ALGORITHMS);
    let mut prefs: Vec<&str> = Vec::new();
    for alg in order {
        if supported.contains(&alg) && !prefs.contains(&alg) {
            prefs.push(alg);
        }
    }
    session.method_pref(MethodType::HostKey, &prefs.join(","))
}

/// The signature algorithms that prove possession of a key of `key_type`.
fn algorithms_for(key_type: &str) -> Vec<&str> {
    match key_type {
        "ssh-rsa" => vec!["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
        other => vec![other],
    }
}

/// The key the server offered in the handshake.
pub struct OfferedKey {
    pub blob: Vec<u8>,
    pub key_type: String,
    /// `SHA256:<base64>` as OpenSSH prints it.
    pub fingerprint: String,
}

impl OfferedKey {
    pub fn from_session(session: &Session) -> Option<OfferedKey> {
        let (blob, _) = session.host_key()?;
        Some(OfferedKey {
            key_type: key_type_of(blob).unwrap_or_else(|| "unknown-key-type".into()),
            fingerprint: fingerprint(blob),
            blob: blob.to_vec(),
        })
    }

    fn describe(&self) -> String {
        format!("{} {}", self.key_type, self.fingerprint)
    }
}

/// `SHA256:` + unpadded base64 of the SHA-256 of the key blob.
pub fn fingerprint(blob: &[u8]) -> String {
    format!("SHA256:{}", base64::encode(&sha256(blob), false))
}

/// The algorithm name at the start of an SSH public key blob.
fn key_type_of(blob: &[u8]) -> Option<String> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    String::from_utf8(blob.get(4..4 + len)?.to_vec()).ok()
}

/// After the handshake: checks the offered key against `lines` (read from
/// `settings.known_hosts`) and applies the policy.
pub fn verify(
    session: &Session,
    settings: &SshSettings,
    lines: &[Line],
    who: &Endpoint,
) -> Result<(), TransportError> {
    let path = settings.known_hosts.display();
    let lookup = lookup_name(&settings.host, settings.port);
    let unknown = |detail: String| who.err(ErrorKind::HostKeyUnknown, detail);
    let offered = OfferedKey::from_session(session)
        .ok_or_else(|| unknown("the server sent no host key; refusing".into()))?;
    let offered_b64 = base64::encode(&offered.blob, true);

    if let Some(line) = lines
        .iter()
        .find(|l| matches!(&l.kind, LineKind::Revoked { key_b64 } if *key_b64 == offered_b64))
    {
        return Err(who.err(
            ErrorKind::HostKeyChanged,
            format!(
                "known_hosts {path} line {} marks the offered key {} as revoked; refusing",
                line.number,
                offered.describe()
            ),
        ));
    }

    let mut known = session
        .known_hosts()
        .map_err(|e| unknown(format!("cannot check known_hosts {path}: {e}; refusing")))?;
    for line in lines {
        if !matches!(line.kind, LineKind::Entry { .. }) {
            continue;
        }
        if let Err(e) = known.read_str(&line.text, KnownHostFileKind::OpenSSH) {
            // A line libssh2 cannot read is harmless only if it is clearly
            // about another host; otherwise it might be this host's entry.
            let about_other_host = matches!(&line.kind,
                LineKind::Entry { hosts: Hosts::Plain(_), .. } if !names(line, &lookup));
            if !about_other_host {
                return Err(unknown(format!(
                    "known_hosts {path} line {} cannot be read ({}); refusing",
                    line.number,
                    e.message()
                )));
            }
        }
    }

    match known.check(&lookup, &offered.blob) {
        ssh2::CheckResult::Match => Ok(()),
        ssh2::CheckResult::Mismatch => Err(who.err(
            ErrorKind::HostKeyChanged,
            changed_message(lines, &lookup, &offered, &offered_b64, &path.to_string()),
        )),
        ssh2::CheckResult::NotFound => match settings.host_key_policy {
            HostKeyPolicy::Strict => Err(unknown(format!(
                "{lookup} is not in known_hosts {path} (server offered {}); refusing under the strict host key policy \
                 (check that fingerprint on the board's console, e.g. `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`, \
                 then add the key to {path}, or set host_key_policy = \"accept-new\" in the board profile)",
                offered.describe(),
            ))),
            HostKeyPolicy::AcceptNew => {
                append_entry(&settings.known_hosts, &lookup, &offered.key_type, &offered_b64).map_err(|e| {
                    unknown(format!("cannot record the new host key in known_hosts {path}: {e}; refusing"))
                })?;
                Ok(())
            }
        },
        ssh2::CheckResult::Failure => Err(unknown(format!(
            "known_hosts check of {lookup} against {path} failed; refusing"
        ))),
    }
}

fn names(line: &Line, lookup: &str) -> bool {
    matches!(&line.kind, LineKind::Entry { hosts, .. } if hosts.names(lookup))
}

/// `known_hosts X line N has <type> SHA256:..., server offered ...`.
fn changed_message(
    lines: &[Line],
    lookup: &str,
    offered: &OfferedKey,
    offered_b64: &str,
    path: &str,
) -> String {
    let stored = lines.iter().find_map(|l| match &l.kind {
        LineKind::Entry {
            hosts,
            key_type,
            key_b64,
        } if hosts.names(lookup) && key_b64 != offered_b64 => {
            let fp = base64::decode(key_b64)
                .map(|b| fingerprint(&b))
                .unwrap_or_else(|| "(bad base64)".into());
            Some(format!("line {} has {key_type} {fp}", l.number))
        }
        _ => None,
    });
    let stored =
        stored.unwrap_or_else(|| format!("has a different key for {lookup} (hashed entry)"));
    format!(
        "known_hosts {path} {stored}, server offered {}; refusing (if the board was reinstalled, \
         remove the old key: ssh-keygen -R '{lookup}' -f {path})",
        offered.describe()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_matches_ssh_keygen_format() {
        // Blob of a fixed ed25519 key; its fingerprint as `ssh-keygen -lf` prints it.
        let b64 = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
        let blob = base64::decode(b64).unwrap();
        assert_eq!(key_type_of(&blob).as_deref(), Some("ssh-ed25519"));
        let expected = std::process::Command::new("ssh-keygen")
            .args(["-lf", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin
                    .take()
                    .unwrap()
                    .write_all(format!("ssh-ed25519 {b64}\n").as_bytes())?;
                c.wait_with_output()
            })
            .expect("ssh-keygen (openssh-client, installed by scripts/setup.sh)");
        let text = String::from_utf8(expected.stdout).unwrap();
        assert_eq!(
            text.split_whitespace().nth(1),
            Some(fingerprint(&blob).as_str()),
            "{text}"
        );
    }
}
