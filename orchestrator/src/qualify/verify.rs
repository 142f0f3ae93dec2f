//! `lwm qualify verify BUNDLE`: checks a bundle offline. Every file's
//! SHA-256 against `MANIFEST.sha256`, no file missing and none added, and
//! the manifest's signature. Each problem is one line naming the file (or
//! the signature).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::bundle::{list_files, MANIFEST_FILE, SIGNATURE_FILE};
use super::sign::{self, SigCheck};

/// What verifying found.
#[derive(Debug)]
pub struct Report {
    /// Files whose hash matched.
    pub files_ok: usize,
    /// One line per problem; empty: the bundle is intact.
    pub problems: Vec<String>,
    /// The signature, when there is one and it is good.
    pub signature: Option<SigCheck>,
}

/// Verifies `bundle`: a bundle directory or its `.tar.gz`. `Err` is bad
/// usage (nothing to verify); a bundle that fails is `Ok` with problems.
pub fn verify(bundle: &Path, allowed_signers: Option<&Path>) -> Result<Report, String> {
    if let Some(a) = allowed_signers {
        std::fs::File::open(a)
            .map_err(|e| format!("--allowed-signers {}: cannot read: {e}", a.display()))?;
    }
    if bundle.is_dir() {
        return Ok(verify_dir(bundle, allowed_signers));
    }
    if !bundle.is_file() {
        return Err(format!("{}: no such bundle", bundle.display()));
    }
    let tmp = Extracted::new(bundle)?;
    let dir = tmp.bundle_dir()?;
    let mut report = verify_dir(&dir, allowed_signers);
    // Name files as inside the tarball.
    let top = dir
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    for p in &mut report.problems {
        *p = format!("{}: {top}/{p}", bundle.display());
    }
    Ok(report)
}

fn verify_dir(dir: &Path, allowed_signers: Option<&Path>) -> Report {
    let mut problems = Vec::new();
    let mut files_ok = 0;
    let manifest = match std::fs::read(dir.join(MANIFEST_FILE)) {
        Ok(m) => m,
        Err(e) => {
            return Report {
                files_ok,
                problems: vec![format!("{MANIFEST_FILE}: cannot read: {e}")],
                signature: None,
            }
        }
    };
    let text = String::from_utf8_lossy(&manifest);
    let mut listed = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some((hash, name)) = line.split_once("  ") else {
            problems.push(format!("{MANIFEST_FILE}:{}: not `SHA256  FILE`", i + 1));
            continue;
        };
        let safe = !name.is_empty()
            && !name.starts_with('/')
            && !name.split('/').any(|c| c == ".." || c.is_empty());
        if !safe || hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
            problems.push(format!("{MANIFEST_FILE}:{}: bad entry `{line}`", i + 1));
            continue;
        }
        listed.push(name.to_string());
        match std::fs::read(dir.join(name)) {
            Ok(data) => {
                if lwm_contract::sha256::sha256_hex(&data) == hash.to_ascii_lowercase() {
                    files_ok += 1;
                } else {
                    problems.push(format!(
                        "{name}: SHA-256 differs from {MANIFEST_FILE} (the file was changed)"
                    ));
                }
            }
            Err(e) => problems.push(format!("{name}: listed in {MANIFEST_FILE} but {e}")),
        }
    }
    match list_files(dir) {
        Ok(files) => {
            for f in files {
                if f != MANIFEST_FILE && f != SIGNATURE_FILE && !listed.contains(&f) {
                    problems.push(format!(
                        "{f}: not listed in {MANIFEST_FILE} (a file was added)"
                    ));
                }
            }
        }
        Err(e) => problems.push(format!("{}: cannot list: {e}", dir.display())),
    }
    let sig = dir.join(SIGNATURE_FILE);
    let signature = if sig.is_file() {
        match sign::check(&manifest, &sig, allowed_signers) {
            Ok(s) => Some(s),
            Err(e) => {
                problems.push(format!("{SIGNATURE_FILE}: {e}"));
                None
            }
        }
    } else {
        if let Some(a) = allowed_signers {
            problems.push(format!(
                "{SIGNATURE_FILE}: missing: the bundle is not signed (--allowed-signers {} was given)",
                a.display()
            ));
        }
        None
    };
    Report {
        files_ok,
        problems,
        signature,
    }
}

/// A tarball unpacked into a private temporary directory, removed on drop.
struct Extracted {
    dir: PathBuf,
}

impl Extracted {
    fn new(tarball: &Path) -> Result<Extracted, String> {
        let dir = std::env::temp_dir().join(format!(
            "lwm-verify-{}-{}",
            std::process::id(),
            crate::campaign::unix_ms()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let e = Extracted { dir };
        let out = Command::new("tar")
            .arg("--force-local")
            .arg("-xzf")
            .arg(tarball)
            .arg("-C")
            .arg(&e.dir)
            // Nothing outside the directory, whatever the tarball says.
            .arg("--no-same-owner")
            .output()
            .map_err(|err| format!("tar: cannot run: {err}"))?;
        if !out.status.success() {
            return Err(format!(
                "{}: not a bundle tarball: tar says {}",
                tarball.display(),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .next()
                    .unwrap_or("failed")
            ));
        }
        Ok(e)
    }

    /// The one top-level directory of the tarball.
    fn bundle_dir(&self) -> Result<PathBuf, String> {
        let entries: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(|e| format!("{}: {e}", self.dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        match entries.as_slice() {
            [one] if one.is_dir() => Ok(one.clone()),
            _ => Err("the tarball does not hold one bundle directory".into()),
        }
    }
}

impl Drop for Extracted {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
