//! OpenSSH signatures of a bundle's manifest: `ssh-keygen -Y sign` and
//! `-Y verify`, which any vendor or auditor has already.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The signature namespace: a signature made for a qualification bundle
/// cannot pass as one over a file, an email or a git commit.
pub const NAMESPACE: &str = "lwm-qualification@lwmalloc";

/// The key can be read (what can be known before the campaign; a key that
/// needs a passphrase without an ssh-agent fails when signing).
pub fn check_key(key: &Path) -> Result<(), String> {
    std::fs::File::open(key)
        .map(drop)
        .map_err(|e| format!("--sign {}: cannot read the key: {e}", key.display()))
}

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("no message")
        .to_string()
}

/// Signs `file` with `key`, writing `FILE.sig`.
pub fn sign(key: &Path, file: &Path) -> Result<(), String> {
    let sig = sig_path(file);
    let _ = std::fs::remove_file(&sig);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", NAMESPACE, "-f"])
        .arg(key)
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("--sign: cannot run ssh-keygen: {e}"))?;
    if !out.status.success() || !sig.is_file() {
        return Err(format!(
            "--sign {}: ssh-keygen -Y sign failed: {}",
            key.display(),
            last_line(&out.stderr)
        ));
    }
    Ok(())
}

pub fn sig_path(file: &Path) -> std::path::PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".sig");
    s.into()
}

/// What checking a signature found.
#[derive(Debug, PartialEq, Eq)]
pub enum SigCheck {
    /// Valid and made by `principal` of the allowed signers.
    Trusted { principal: String },
    /// Valid, but no allowed-signers file was given to say by whom.
    ValidUntrusted,
}

/// Checks `sig` over `data`. With `allowed_signers`, the key must be one of
/// them; without, only that the signature is valid for `data`.
pub fn check(data: &[u8], sig: &Path, allowed_signers: Option<&Path>) -> Result<SigCheck, String> {
    let Some(allowed) = allowed_signers else {
        let out = run_with_input(
            Command::new("ssh-keygen")
                .args(["-Y", "check-novalidate", "-n", NAMESPACE, "-s"])
                .arg(sig),
            data,
        )?;
        return if out.status.success() {
            Ok(SigCheck::ValidUntrusted)
        } else {
            Err(format!(
                "not a valid signature of the manifest in namespace {NAMESPACE} ({})",
                last_line(&out.stderr)
            ))
        };
    };
    let found = Command::new("ssh-keygen")
        .args(["-Y", "find-principals", "-s"])
        .arg(sig)
        .arg("-f")
        .arg(allowed)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ssh-keygen: {e}"))?;
    let principal = String::from_utf8_lossy(&found.stdout)
        .lines()
        .next()
        .map(str::trim)
        .unwrap_or("")
        .to_string();
    if !found.status.success() || principal.is_empty() {
        return Err(format!(
            "signed by a key that is not in the allowed signers {} ({})",
            allowed.display(),
            last_line(&found.stderr)
        ));
    }
    let out = run_with_input(
        Command::new("ssh-keygen")
            .args(["-Y", "verify", "-n", NAMESPACE, "-f"])
            .arg(allowed)
            .arg("-I")
            .arg(&principal)
            .arg("-s")
            .arg(sig),
        data,
    )?;
    if out.status.success() {
        Ok(SigCheck::Trusted { principal })
    } else {
        Err(format!(
            "does not verify against the manifest for {principal} in namespace {NAMESPACE} ({})",
            last_line(&out.stderr)
        ))
    }
}

fn run_with_input(cmd: &mut Command, data: &[u8]) -> Result<std::process::Output, String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run ssh-keygen: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // ssh-keygen may stop reading early on a bad signature.
        let _ = stdin.write_all(data);
    }
    child
        .wait_with_output()
        .map_err(|e| format!("ssh-keygen: {e}"))
}
