//! `lwm qualify` and `lwm qualify verify` as the binary runs them: the
//! closing lines and the exit status.

use std::path::Path;

use super::evaluate::Status;
use super::sign::SigCheck;
use super::{QualifyOptions, DEFAULT_CRITERIA};
use crate::cli::{exit_code, QualifyAction, QualifyArgs};

pub fn run(a: QualifyArgs, workspace: &Path, boards_dir: &Path, results: &Path) -> u8 {
    if let Some(QualifyAction::Verify {
        bundle,
        allowed_signers,
    }) = &a.action
    {
        return verify(bundle, allowed_signers.as_deref());
    }
    if let Some(bundle) = &a.resume {
        return match resumed_options(&a, bundle, workspace, boards_dir) {
            Ok(opts) => qualify_with(opts),
            Err(e) => {
                eprintln!("lwm: {e}");
                exit_code::USAGE
            }
        };
    }
    let Some(board) = a.board.clone() else {
        eprintln!("lwm: qualify: --board is required (see lwm qualify --help)");
        return exit_code::USAGE;
    };
    let opts = QualifyOptions {
        workspace: workspace.to_path_buf(),
        boards_dir: boards_dir.to_path_buf(),
        criteria: a
            .criteria
            .clone()
            .unwrap_or_else(|| workspace.join(DEFAULT_CRITERIA)),
        sign: a.sign.clone(),
        // Absolute: the tarball is made beside it.
        out: std::path::absolute(
            a.out
                .clone()
                .unwrap_or_else(|| super::default_out(results, &board)),
        )
        .unwrap_or_else(|_| results.join("qualify")),
        board,
        library: a
            .library
            .as_deref()
            .map(|l| std::path::absolute(l).unwrap_or_else(|_| l.to_path_buf())),
        progress: !a.no_progress && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        resume: false,
    };
    qualify_with(opts)
}

/// The options of the qualification in `bundle`, as `invocation.json`
/// recorded them; `--sign` given again replaces the recorded key.
fn resumed_options(
    a: &QualifyArgs,
    bundle: &Path,
    workspace: &Path,
    boards_dir: &Path,
) -> Result<QualifyOptions, String> {
    let out = std::path::absolute(bundle).unwrap_or_else(|_| bundle.to_path_buf());
    if !out.is_dir() {
        return Err(format!(
            "--resume {}: no such bundle directory",
            bundle.display()
        ));
    }
    let invocation = super::Invocation::read(&out)?;
    Ok(QualifyOptions {
        workspace: workspace.to_path_buf(),
        boards_dir: boards_dir.to_path_buf(),
        board: invocation.board,
        // The file given (its commands' files are found beside it), held
        // to the copy in the bundle by `prepare`.
        criteria: invocation.criteria,
        sign: a.sign.clone().or(invocation.sign),
        out,
        library: invocation.library,
        progress: !a.no_progress && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        resume: true,
    })
}

fn qualify_with(opts: QualifyOptions) -> u8 {
    let (criteria, settings) = match super::prepare(&opts) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("lwm: {e}");
            return exit_code::USAGE;
        }
    };
    let outcome = match super::qualify(opts, criteria, settings) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("lwm: {e}");
            return exit_code::USAGE;
        }
    };
    for v in &outcome.verdicts {
        let tag = match (v.status, v.mandatory) {
            (Status::Pass, _) => "pass",
            (Status::Fail, true) => "FAIL",
            (Status::Fail, false) => "fail (advisory)",
        };
        println!("{tag:<15} {:<24} {}", v.id, v.summary);
    }
    for e in &outcome.bundle_errors {
        eprintln!("lwm: bundle: {e}");
    }
    // One line per failed mandatory requirement, last, where it is seen.
    let failed: Vec<_> = outcome
        .verdicts
        .iter()
        .filter(|v| v.mandatory && v.status == Status::Fail)
        .collect();
    for v in &failed {
        eprintln!("lwm: requirement {} failed: {}", v.id, v.summary);
    }
    eprintln!("lwm: bundle: {}", outcome.bundle_dir.display());
    if let Some(t) = &outcome.tarball {
        eprintln!("lwm: bundle archive: {}", t.display());
    }
    if outcome.interrupted {
        eprintln!("lwm: qualify: interrupted; the verdicts cover only what ran");
        return exit_code::INTERRUPTED;
    }
    if failed.is_empty() && outcome.bundle_errors.is_empty() {
        eprintln!(
            "lwm: qualified: {} of {} requirements passed, every mandatory one",
            outcome
                .verdicts
                .iter()
                .filter(|v| v.status == Status::Pass)
                .count(),
            outcome.verdicts.len()
        );
        exit_code::OK
    } else {
        eprintln!(
            "lwm: NOT qualified: {} mandatory requirement(s) failed{}",
            failed.len(),
            if outcome.bundle_errors.is_empty() {
                ""
            } else {
                ", and the bundle is incomplete"
            }
        );
        exit_code::FAILED
    }
}

fn verify(bundle: &Path, allowed_signers: Option<&Path>) -> u8 {
    let report = match super::verify::verify(bundle, allowed_signers) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lwm: qualify verify: {e}");
            return exit_code::USAGE;
        }
    };
    for p in &report.problems {
        eprintln!("lwm: {p}");
    }
    let sig = match &report.signature {
        Some(SigCheck::Trusted { principal }) => format!("signature good, by {principal}"),
        Some(SigCheck::ValidUntrusted) => {
            "signature valid, signer NOT checked (give --allowed-signers)".into()
        }
        None => "not signed".into(),
    };
    if report.problems.is_empty() {
        println!(
            "bundle intact: {} files match MANIFEST.sha256; {sig}",
            report.files_ok
        );
        exit_code::OK
    } else {
        println!(
            "bundle REJECTED: {} problem(s); {} files match",
            report.problems.len(),
            report.files_ok
        );
        exit_code::FAILED
    }
}
