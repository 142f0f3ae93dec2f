//! `lwm qualify`: a qualification campaign on one board, decided against a
//! criteria file, sealed into an evidence bundle (docs/qualification.md).
//!
//! The campaign is an ordinary `lwm eval` campaign (`crate::campaign`):
//! the same build, gate, push, doctor and agent runs, written as a run
//! directory inside the bundle (`runs/main/`). The requirements are then
//! decided from that directory (`evaluate`), and the bundle written
//! (`bundle`), signed (`sign`) and packed.

pub mod bundle;
pub mod command;
pub mod criteria;
pub mod ctests;
pub mod evaluate;
pub mod junit;
pub mod render;
pub mod sign;
pub mod soak;
pub mod verify;

use std::path::{Path, PathBuf};

use crate::campaign::{self, EvalOptions};
use crate::manifest::Settings;
use criteria::Criteria;
use evaluate::{Evidence, Status, Verdict};

/// The directory of the campaign run inside a bundle.
pub const RUN_REL: &str = "runs/main";
/// The soak campaign's run directory inside a bundle.
pub const SOAK_REL: &str = "runs/soak";
/// The criteria used when `--criteria` is not given, relative to the workspace.
pub const DEFAULT_CRITERIA: &str = "qualification/embedded-v1.toml";
/// How the qualification was started (board, library, key, criteria
/// file), in the bundle: what `lwm qualify --resume BUNDLE` goes on with.
pub const INVOCATION_FILE: &str = "invocation.json";

/// `lwm qualify` as the command line gave it.
#[derive(Debug, Clone)]
pub struct QualifyOptions {
    pub workspace: PathBuf,
    pub boards_dir: PathBuf,
    pub board: String,
    pub criteria: PathBuf,
    /// Private key for `ssh-keygen -Y sign`.
    pub sign: Option<PathBuf>,
    /// The bundle directory (must not exist yet); `DIR.tar.gz` beside it.
    pub out: PathBuf,
    pub progress: bool,
    /// Qualify this prebuilt liblwmalloc.so (a vendor's own build) instead
    /// of the one `lwm` builds.
    pub library: Option<PathBuf>,
    /// Go on with the qualification already in `out` (`--resume`): its
    /// campaigns are resumed (finished runs kept, not made again) and the
    /// bundle sealed anew.
    pub resume: bool,
}

/// `invocation.json`: what a resumed qualification must reuse.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Invocation {
    pub board: String,
    /// The criteria file given (the bundle holds its copy, `criteria.toml`).
    pub criteria: PathBuf,
    pub library: Option<PathBuf>,
    pub sign: Option<PathBuf>,
}

impl Invocation {
    pub fn read(bundle: &Path) -> Result<Invocation, String> {
        let path = bundle.join(INVOCATION_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "--resume {}: not a qualification bundle lwm can resume ({}: {e})",
                bundle.display(),
                path.display()
            )
        })?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// How a qualification ended.
#[derive(Debug)]
pub struct QualifyOutcome {
    pub bundle_dir: PathBuf,
    pub tarball: Option<PathBuf>,
    pub verdicts: Vec<Verdict>,
    /// The campaign was interrupted: verdicts are on what was collected.
    pub interrupted: bool,
    /// Problems sealing the bundle (report, signature, tar): one line each.
    pub bundle_errors: Vec<String>,
}

impl QualifyOutcome {
    /// Every mandatory requirement passed.
    pub fn qualified(&self) -> bool {
        self.verdicts
            .iter()
            .all(|v| !v.mandatory || v.status == Status::Pass)
    }
}

/// Checks everything that can be checked before a board is touched: the
/// criteria file, the signing key, the output directory. Returns the
/// criteria and the campaign's settings.
pub fn prepare(opts: &QualifyOptions) -> Result<(Criteria, Settings), String> {
    if opts.resume {
        // The runs on disk were decided by the bundle's copy.
        let copy = opts.out.join(bundle::CRITERIA_FILE);
        if std::fs::read(&opts.criteria).ok() != std::fs::read(&copy).ok() {
            return Err(format!(
                "--resume {}: the criteria file {} is not the one the qualification started with ({} differs); start a new qualification",
                opts.out.display(),
                opts.criteria.display(),
                copy.display()
            ));
        }
    }
    let criteria = criteria::load(&opts.criteria)?;
    // As `lwm eval` checks it (a labgrid place on its coordinator too).
    crate::provider::labgrid::load_board(&opts.boards_dir, &opts.board, None)
        .map_err(|e| format!("{e:#}"))?;
    if let Some(key) = &opts.sign {
        sign::check_key(key)?;
    }
    if let Some(lib) = &opts.library {
        if !lib.is_file() {
            return Err(format!(
                "--library {}: no such file (a liblwmalloc.so built for the board)",
                lib.display()
            ));
        }
    }
    if opts.out.exists() && !opts.resume {
        return Err(format!(
            "--out {}: already exists; a bundle is written into a new directory (or continue it with --resume)",
            opts.out.display()
        ));
    }
    let settings = settings_of(&criteria);
    for s in std::iter::once(&settings).chain(soak_settings(&criteria, &settings).as_ref()) {
        crate::limits::check_settings(s).map_err(|b| {
            format!(
                "{}: campaign.{}: {}",
                criteria.file.display(),
                b.field,
                b.why
            )
        })?;
    }
    Ok((criteria, settings))
}

/// The normal campaign's settings: the workloads the ratio checks need,
/// the commands of the output and out-of-memory checks, lwmalloc against
/// the system malloc.
pub fn settings_of(c: &Criteria) -> Settings {
    let mut workloads: Vec<String> = Vec::new();
    let mut commands = Vec::new();
    for r in &c.requirements {
        for w in r.check.workloads() {
            if !workloads.contains(w) {
                workloads.push(w.clone());
            }
        }
        commands.extend(r.check.commands().iter().cloned());
    }
    if workloads.is_empty() && commands.is_empty() {
        // Artifacts are gated and pushed by a campaign: the smallest one.
        workloads.push("small-burst".into());
    }
    let s = &c.campaign;
    Settings {
        workloads,
        allocators: vec![evaluate::UNDER_TEST.into(), crate::report::BASELINE.into()],
        warmup: s.warmup,
        reps: s.reps,
        target_ci: None,
        max_reps: s.reps.max(crate::limits::DEFAULT_MAX_REPS),
        scale: s.scale,
        threads: s.threads,
        seed: s.seed,
        noise_threshold: s.noise,
        commands,
        duration_s: None,
    }
}

/// The soak campaign's settings, when a requirement asks for one: the
/// soak workload alone, for its duration and repetitions.
pub fn soak_settings(c: &Criteria, main: &Settings) -> Option<Settings> {
    c.requirements.iter().find_map(|r| match r.check {
        criteria::Check::Soak {
            duration_s, reps, ..
        } => Some(Settings {
            workloads: vec![criteria::SOAK_WORKLOAD.into()],
            warmup: 0,
            reps,
            max_reps: reps.max(crate::limits::DEFAULT_MAX_REPS),
            duration_s: Some(duration_s),
            commands: Vec::new(),
            ..main.clone()
        }),
        _ => None,
    })
}

/// Runs the qualification: the campaign, the verdicts, the bundle.
/// `Err` is bad configuration found before anything ran (nothing kept).
pub fn qualify(
    opts: QualifyOptions,
    criteria: Criteria,
    settings: Settings,
) -> Result<QualifyOutcome, String> {
    let out = &opts.out;
    std::fs::create_dir_all(out.join("runs"))
        .map_err(|e| format!("--out {}: cannot create: {e}", out.display()))?;
    // A new bundle is removed again when refused before anything ran; a
    // resumed one keeps everything it holds.
    let discard = |out: &Path| {
        if !opts.resume {
            let _ = std::fs::remove_dir_all(out);
        }
    };
    if !opts.resume {
        // The criteria exactly as used, byte for byte, and how to go on.
        // Absolute: a resume may start from another directory.
        let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let invocation = Invocation {
            board: opts.board.clone(),
            criteria: absolute(&opts.criteria),
            library: opts.library.as_deref().map(absolute),
            sign: opts.sign.as_deref().map(absolute),
        };
        let written = std::fs::copy(&opts.criteria, out.join(bundle::CRITERIA_FILE))
            .map_err(|e| format!("{}: cannot copy: {e}", opts.criteria.display()))
            .and_then(|_| {
                crate::campaign::store::write_atomic(
                    &out.join(INVOCATION_FILE),
                    &serde_json::to_vec_pretty(&invocation).expect("plain data serialises"),
                )
                .map_err(|e| format!("{INVOCATION_FILE}: {e:#}"))
            });
        if let Err(e) = written {
            discard(out);
            return Err(e);
        }
    }
    // The C-level checks, built for the board's target before anything
    // runs: a missing cross compiler is a setup error (nothing kept).
    let c_built = match build_c_tests(&opts, &criteria) {
        Ok(b) => b,
        Err(e) => {
            discard(out);
            return Err(e);
        }
    };
    let c_settings = match c_built
        .as_ref()
        .map(|b| ctests::settings(&criteria, &settings, b))
        .transpose()
    {
        Ok(s) => s.flatten(),
        Err(e) => {
            discard(out);
            return Err(e);
        }
    };
    let eval = |settings: Settings, run_id: &str| {
        EvalOptions {
        workspace: opts.workspace.clone(),
        boards_dir: opts.boards_dir.clone(),
        results_dir: out.join("runs"),
        boards: vec![opts.board.clone()],
        settings,
        // A campaign a resumed qualification had started goes on where it
        // stopped; one it never reached starts now.
        resume: (opts.resume && crate::rundir::manifest_path(&out.join("runs").join(run_id)).is_file())
            .then(|| run_id.to_string()),
        explicit_flags: Vec::new(),
        extend: false,
        run_id: Some(run_id.into()),
        progress: opts.progress,
        labgrid_coordinator: None,
        library: opts.library.clone(),
        interrupt_hint: Some(format!(
            "The bundle {} will be sealed as interrupted. Continue later with: lwm qualify --resume {}",
            out.display(),
            out.display()
        )),
    }
    };
    let outcome = match campaign::eval(eval(settings.clone(), "main")) {
        Ok(o) => o,
        Err(e) => {
            // Refused before a run directory existed: nothing collected.
            if !out.join(RUN_REL).exists() {
                discard(out);
            }
            return Err(format!("{e:#}"));
        }
    };
    let run_dir = outcome.run_dir.clone();
    let mut bundle_errors = Vec::new();
    let mut interrupted = outcome.interrupted();
    // The C-level checks' campaign, after the main one (not after a Ctrl-C).
    let mut c_dir = None;
    let mut c_missing = "the C-level campaign did not run (interrupted)".to_string();
    if let (Some(c), false) = (c_settings, interrupted) {
        match campaign::eval(eval(c, "c-tests")) {
            Ok(o) => {
                interrupted |= o.interrupted();
                if let Err(e) = crate::report::write_reports_of(&o.run_dir) {
                    bundle_errors.push(format!("C-level campaign reports not written: {e:#}"));
                }
                c_dir = Some(o.run_dir);
            }
            Err(e) => {
                c_missing = format!("C-level campaign: {e:#}");
                bundle_errors.push(c_missing.clone());
            }
        }
    }
    // The soak campaign, after those (not after a Ctrl-C).
    let mut soak_dir = None;
    if let (Some(soak), false) = (soak_settings(&criteria, &settings), interrupted) {
        match campaign::eval(eval(soak, "soak")) {
            Ok(o) => {
                interrupted |= o.interrupted();
                if let Err(e) = crate::report::write_reports_of(&o.run_dir) {
                    bundle_errors.push(format!("soak campaign reports not written: {e:#}"));
                }
                soak_dir = Some(o.run_dir);
            }
            Err(e) => bundle_errors.push(format!("soak campaign: {e:#}")),
        }
    }
    if let Err(e) = crate::report::write_reports_of(&run_dir) {
        bundle_errors.push(format!("campaign reports not written: {e:#}"));
    }
    let verdicts = match crate::report::load_run(&run_dir) {
        Ok(run) => evaluate::evaluate(
            &criteria,
            &Evidence {
                board: &opts.board,
                run: &run,
                run_rel: RUN_REL,
                reps: settings.reps,
                soak: soak_dir.as_deref().map(|d| (d, SOAK_REL)),
                c_tests: c_dir
                    .as_deref()
                    .map(|d| (d, ctests::C_TESTS_REL))
                    .ok_or(c_missing.as_str()),
            },
        ),
        Err(e) => {
            bundle_errors.push(format!("campaign results unreadable: {e:#}"));
            evaluate::unreadable(&criteria, &format!("{e:#}"))
        }
    };
    if opts.resume {
        // Sealed before: the old signature is of the old manifest.
        let _ = std::fs::remove_file(out.join(bundle::SIGNATURE_FILE));
    }
    let sealed = bundle::seal(&bundle::SealInput {
        dir: out,
        criteria: &criteria,
        verdicts: &verdicts,
        run_dir: &run_dir,
        board: &opts.board,
        interrupted,
        sign_key: opts.sign.as_deref(),
    });
    bundle_errors.extend(sealed.errors);
    Ok(QualifyOutcome {
        bundle_dir: out.clone(),
        tarball: sealed.tarball,
        verdicts,
        interrupted,
        bundle_errors,
    })
}

/// Builds the C programs of the C-level requirements for the board's
/// target into the bundle (`c-tests/`), when there are any.
fn build_c_tests(opts: &QualifyOptions, c: &Criteria) -> Result<Option<ctests::Built>, String> {
    if !c
        .requirements
        .iter()
        .any(|r| !ctests::tests_of(&r.check).is_empty())
    {
        return Ok(None);
    }
    let board = crate::provider::labgrid::load_board(&opts.boards_dir, &opts.board, None)
        .map_err(|e| format!("{e:#}"))?;
    let target = board.build_target();
    let out = opts.out.join(ctests::BUILT_REL).join(&target);
    ctests::build(&opts.workspace, c, &target, &opts.board, &out)
}

/// `results/qualify-STAMP-BOARD` under `results`.
pub fn default_out(results: &Path, board: &str) -> PathBuf {
    let stamp = campaign::utc_stamp(campaign::unix_ms() / 1000);
    let base = results.join(format!("qualify-{stamp}-{board}"));
    let mut p = base.clone();
    let mut n = 2;
    while p.exists() {
        p = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    p
}
