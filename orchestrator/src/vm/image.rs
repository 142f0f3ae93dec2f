//! Images of emulated boards: built by the recipes in `images/` and cached
//! outside the source tree under a hash of the recipe (see
//! `images/build.sh`). This side only runs the build and reads the result.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{bail, Context};

/// A finished image directory. Invariant: `dir/complete` existed when read,
/// so every file named here is whole.
#[derive(Debug, Clone)]
pub struct Image {
    pub name: String,
    pub dir: PathBuf,
    /// QEMU program and arguments (from `images/NAME/boot.args`) with
    /// `@IMAGE@`, `@PORT@`, `@CONSOLE@` still in place.
    pub boot_args: Vec<String>,
    /// The guest's only host key as `type base64` (no comment).
    pub host_key: String,
    /// Private key authorised as root in the guest.
    pub user_key: PathBuf,
}

impl Image {
    /// Reads a finished image directory; how to boot it is read from the
    /// recipe's `boot.args` in `workspace`.
    pub fn open(workspace: &Path, name: &str, dir: &Path) -> anyhow::Result<Image> {
        if !dir.join("complete").is_file() {
            bail!("image {name}: {} is not a finished image", dir.display());
        }
        let read = |f: &str| {
            std::fs::read_to_string(dir.join(f))
                .with_context(|| format!("image {name}: cannot read {}", dir.join(f).display()))
        };
        let args_path = workspace.join("images").join(name).join("boot.args");
        let boot_args: Vec<String> = std::fs::read_to_string(&args_path)
            .with_context(|| format!("image {name}: cannot read {}", args_path.display()))?
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        if boot_args.is_empty() {
            bail!("image {name}: {} names no command", args_path.display());
        }
        let pub_line = read("ssh_host_ed25519_key.pub")?;
        let mut fields = pub_line.split_whitespace();
        let host_key = match (fields.next(), fields.next()) {
            (Some(t), Some(k)) => format!("{t} {k}"),
            _ => bail!("image {name}: malformed ssh_host_ed25519_key.pub"),
        };
        let user_key = dir
            .parent()
            .map(|p| p.join("kit_ed25519"))
            .filter(|p| p.is_file())
            .with_context(|| {
                format!(
                    "image {name}: the kit's key kit_ed25519 is missing beside {}",
                    dir.display()
                )
            })?;
        Ok(Image {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            boot_args,
            host_key,
            user_key,
        })
    }
}

/// Returns image `name`, building it first when its recipe's hash has no
/// finished image yet (minutes; the build's output goes to `build_log`).
/// Setting `cancel` stops a build in progress (its whole process group)
/// and fails with "interrupted"; a half-built image is never kept.
pub fn ensure_image(
    workspace: &Path,
    name: &str,
    build_log: &Path,
    cancel: &AtomicBool,
) -> anyhow::Result<Image> {
    let script = workspace.join("images/build.sh");
    if !script.is_file() {
        bail!("image {name}: no {}", script.display());
    }
    if !workspace
        .join("images")
        .join(name)
        .join("recipe.sh")
        .is_file()
    {
        bail!("image {name}: no recipe images/{name}/recipe.sh");
    }
    let dir = run_image_build(&script, name, &[], build_log, cancel)?;
    Image::open(workspace, name, &dir)
}

/// Runs an image build script (`images/build.sh` or `docker/build.sh`)
/// for image `name` with `envs` added, its stderr appended to `build_log`,
/// and returns the directory it printed last. The script runs in its own
/// process group: a Ctrl-C in the terminal reaches lwm, which sets
/// `cancel`; then the whole group gets SIGTERM and this fails with
/// "build interrupted" (the scripts keep no half-built image).
pub(crate) fn run_image_build(
    script: &Path,
    name: &str,
    envs: &[(&str, String)],
    build_log: &Path,
    cancel: &AtomicBool,
) -> anyhow::Result<PathBuf> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(build_log)
        .with_context(|| format!("cannot open {}", build_log.display()))?;
    let stdout_path = build_log.with_extension("out");
    let stdout_file = std::fs::File::create(&stdout_path)
        .with_context(|| format!("cannot create {}", stdout_path.display()))?;
    let mut child = Command::new("bash")
        .arg(script)
        .arg(name)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(stdout_file)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot run {}", script.display()))?;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if cancel.load(Ordering::SeqCst) {
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: kill(2) on the process group of our own child,
                // which has not been reaped (try_wait said it runs), so the
                // group id (= its pid) names only its group.
                unsafe {
                    libc::kill(-pid, libc::SIGTERM);
                }
            }
            let _ = child.wait();
            bail!("image {name}: build interrupted");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if !status.success() {
        let tail = last_lines(build_log, 3);
        bail!(
            "image {name}: build failed ({status}); see {}: {tail}",
            build_log.display()
        );
    }
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let dir = stdout
        .lines()
        .last()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .with_context(|| format!("image {name}: build printed no directory"))?;
    Ok(PathBuf::from(dir))
}

/// The last `n` non-empty lines of a file, joined by " | ".
pub(crate) fn last_lines(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}
