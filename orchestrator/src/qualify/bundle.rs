//! The evidence bundle: a directory holding the criteria as used, the
//! campaign's run directory, facts, verdicts, traceability, the reports and
//! a manifest of every file's SHA-256 (optionally signed), packed as
//! `DIR.tar.gz` beside it. Layout in docs/qualification.md.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use super::criteria::Criteria;
use super::evaluate::{Status, Verdict};
use super::{junit, render, sign, RUN_REL};

pub const CRITERIA_FILE: &str = "criteria.toml";
pub const MANIFEST_FILE: &str = "MANIFEST.sha256";
pub const SIGNATURE_FILE: &str = "MANIFEST.sha256.sig";
pub const VERDICTS_SCHEMA: &str = "lwm.qualification";
pub const VERDICTS_VERSION: u32 = 1;

pub struct SealInput<'a> {
    pub dir: &'a Path,
    pub criteria: &'a Criteria,
    pub verdicts: &'a [Verdict],
    pub run_dir: &'a Path,
    pub board: &'a str,
    pub interrupted: bool,
    pub sign_key: Option<&'a Path>,
}

pub struct Sealed {
    pub tarball: Option<PathBuf>,
    /// One line each; the bundle is kept as far as it got.
    pub errors: Vec<String>,
}

/// Writes every file of the bundle, the manifest, the signature and the
/// tarball. A failure is recorded and the rest still written.
pub fn seal(input: &SealInput) -> Sealed {
    let mut errors = Vec::new();
    let dir = input.dir;
    let qualified = input
        .verdicts
        .iter()
        .all(|v| !v.mandatory || v.status == Status::Pass);
    let manifest = crate::rundir::read_manifest(input.run_dir).ok();
    let board_entry = manifest
        .as_ref()
        .and_then(|m| m.boards.iter().find(|b| b.name == input.board).cloned());

    // The library qualified, byte for byte, and every artifact's hash.
    let mut artifact_lines = String::new();
    if let Some(b) = &board_entry {
        for a in &b.artifacts {
            artifact_lines.push_str(&format!("{}  {}\n", a.sha256, a.name));
            if a.name == "liblwmalloc.so" {
                let to = dir.join("artifacts").join(&a.name);
                let copied = std::fs::create_dir_all(dir.join("artifacts"))
                    .and_then(|()| std::fs::copy(&a.local_path, &to));
                if let Err(e) = copied {
                    errors.push(format!(
                        "{}: cannot copy into the bundle: {e}",
                        a.local_path
                    ));
                }
            }
        }
    }
    let criteria_text = std::fs::read(dir.join(CRITERIA_FILE)).unwrap_or_default();
    let facts = json!({
        "lwm_version": env!("CARGO_PKG_VERSION"),
        "criteria": {
            "name": input.criteria.name,
            "description": input.criteria.description,
            "file": input.criteria.file.display().to_string(),
            "sha256": lwm_contract::sha256::sha256_hex(&criteria_text),
            "campaign": input.criteria.campaign,
        },
        "board": board_entry,
        "project_commit": manifest.as_ref().and_then(|m| m.project_commit.clone()),
        "project_dirty": manifest.as_ref().and_then(|m| m.project_dirty),
        "toolchain": manifest.as_ref().map(|m| m.toolchain.clone()),
        "campaign_run": RUN_REL,
        "started_unix_ms": manifest.as_ref().map(|m| m.started_unix_ms),
        "ended_unix_ms": manifest.as_ref().and_then(|m| m.ended_unix_ms),
        "interrupted": input.interrupted,
        "signature_namespace": sign::NAMESPACE,
    });
    let verdicts = json!({
        "schema": VERDICTS_SCHEMA,
        "schema_version": VERDICTS_VERSION,
        "criteria": input.criteria.name,
        "board": input.board,
        "qualified": qualified && !input.interrupted,
        "interrupted": input.interrupted,
        "requirements": input.verdicts,
    });
    let ctx = render::Context {
        criteria: input.criteria,
        verdicts: input.verdicts,
        board: input.board,
        facts: &facts,
        qualified: qualified && !input.interrupted,
    };
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("artifacts.sha256", artifact_lines.into_bytes()),
        ("facts.json", pretty(&facts)),
        ("verdicts.json", pretty(&verdicts)),
        (
            "traceability.csv",
            traceability_csv(input.verdicts).into_bytes(),
        ),
        ("report.md", render::markdown(&ctx).into_bytes()),
        ("report.html", render::html(&ctx).into_bytes()),
        (
            "junit.xml",
            junit::render(&input.criteria.name, input.board, input.verdicts).into_bytes(),
        ),
    ];
    for (name, data) in files {
        if let Err(e) = crate::campaign::store::write_atomic(&dir.join(name), &data) {
            errors.push(format!("{name}: {e:#}"));
        }
    }
    match write_manifest(dir) {
        Ok(()) => {
            if let Some(key) = input.sign_key {
                if let Err(e) = sign::sign(key, &dir.join(MANIFEST_FILE)) {
                    errors.push(e);
                }
            }
        }
        Err(e) => errors.push(e),
    }
    let tarball = match pack(dir) {
        Ok(t) => Some(t),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    Sealed { tarball, errors }
}

fn pretty(v: &serde_json::Value) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(v).expect("JSON values serialise");
    s.push('\n');
    s.into_bytes()
}

/// `requirement,mandatory,verdict,check,check_result,evidence_file`: one
/// line per evidence file of each check (a check without files: one line
/// with an empty file).
pub fn traceability_csv(verdicts: &[Verdict]) -> String {
    let mut out =
        String::from("requirement,mandatory,verdict,kind,check,check_result,found,evidence_file\n");
    for v in verdicts {
        for c in &v.checks {
            let files: Vec<&str> = if c.evidence.is_empty() {
                vec![""]
            } else {
                c.evidence.iter().map(String::as_str).collect()
            };
            for f in files {
                let row = [
                    v.id.as_str(),
                    if v.mandatory { "mandatory" } else { "advisory" },
                    status_word(v.status),
                    v.kind,
                    &c.name,
                    status_word(c.status),
                    &c.found,
                    f,
                ];
                let cells: Vec<String> = row.iter().map(|s| csv_cell(s)).collect();
                out.push_str(&cells.join(","));
                out.push('\n');
            }
        }
    }
    out
}

pub fn status_word(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Fail => "fail",
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Every regular file under `dir`, relative, sorted, `/`-separated.
pub fn list_files(dir: &Path) -> std::io::Result<Vec<String>> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
        for e in std::fs::read_dir(d)? {
            let e = e?;
            let ty = e.file_type()?;
            let p = e.path();
            if ty.is_dir() {
                walk(root, &p, out)?;
            } else {
                let rel = p.strip_prefix(root).expect("under root");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// `MANIFEST.sha256` in `sha256sum` format: every file of the bundle but
/// the manifest and its signature (so `sha256sum -c MANIFEST.sha256`
/// checks a bundle too).
fn write_manifest(dir: &Path) -> Result<(), String> {
    let files = list_files(dir).map_err(|e| format!("{}: cannot list: {e}", dir.display()))?;
    let mut text = String::new();
    for f in files {
        if f == MANIFEST_FILE || f == SIGNATURE_FILE {
            continue;
        }
        let data = std::fs::read(dir.join(&f)).map_err(|e| format!("{f}: cannot read: {e}"))?;
        text.push_str(&format!(
            "{}  {f}\n",
            lwm_contract::sha256::sha256_hex(&data)
        ));
    }
    crate::campaign::store::write_atomic(&dir.join(MANIFEST_FILE), text.as_bytes())
        .map_err(|e| format!("{MANIFEST_FILE}: {e:#}"))
}

/// `DIR.tar.gz` beside `dir`, made by tar, with the bundle directory as its
/// one top-level entry; entries sorted, owner and times fixed.
fn pack(dir: &Path) -> Result<PathBuf, String> {
    let name = dir
        .file_name()
        .ok_or_else(|| format!("{}: no directory name", dir.display()))?;
    let parent = dir.parent().unwrap_or(Path::new("."));
    let tarball = parent.join(format!("{}.tar.gz", name.to_string_lossy()));
    let out = Command::new("tar")
        .arg("--sort=name")
        .args(["--owner=0", "--group=0", "--numeric-owner"])
        // A `:` in the name (labgrid:PLACE) is not a remote archive.
        .arg("--force-local")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(parent)
        .arg(name)
        .output()
        .map_err(|e| format!("tar: cannot run: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "tar -czf {}: {}",
            tarball.display(),
            err.lines().last().unwrap_or("failed")
        ));
    }
    Ok(tarball)
}
