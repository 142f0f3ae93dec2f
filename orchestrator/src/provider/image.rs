//! Images of provided boards, built by a recipe and cached outside the
//! source tree under a hash of the recipe: QEMU images by `images/build.sh`
//! (`images/NAME/recipe.sh`), container images by `docker/build.sh`
//! (`docker/NAME/Dockerfile`). The scripts compute the hashes; this side
//! only runs the build and reads the finished directory it printed.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{bail, Context};

/// Where a kind of image comes from in the workspace.
pub(crate) struct Recipes {
    /// The folder of recipes and of its build script: `images`, `docker`.
    pub folder: &'static str,
    /// The file every recipe of the folder has: `recipe.sh`, `Dockerfile`.
    pub recipe: &'static str,
}

/// Returns the finished directory of image `name` from `recipes`,
/// building it first when its recipe's hash has none yet (minutes; the
/// build's output goes to `build_log`). `envs` are added to the build
/// script's environment. Setting `cancel` stops a build in progress.
pub(crate) fn build_from_recipe(
    workspace: &Path,
    recipes: &Recipes,
    name: &str,
    envs: &[(&str, String)],
    build_log: &Path,
    cancel: &AtomicBool,
) -> anyhow::Result<PathBuf> {
    let script = workspace.join(recipes.folder).join("build.sh");
    if !script.is_file() {
        bail!("image {name}: no {}", script.display());
    }
    if !workspace
        .join(recipes.folder)
        .join(name)
        .join(recipes.recipe)
        .is_file()
    {
        bail!(
            "image {name}: no recipe {}/{name}/{}",
            recipes.folder,
            recipes.recipe
        );
    }
    run_image_build(&script, name, envs, build_log, cancel)
}

/// A finished image directory as both kinds leave it. Invariant:
/// `dir/complete` existed when opened, so every file in it is whole.
pub(crate) struct Finished<'a> {
    pub name: &'a str,
    pub dir: &'a Path,
}

impl<'a> Finished<'a> {
    /// `dir` if the build finished it.
    pub fn open(name: &'a str, dir: &'a Path) -> anyhow::Result<Finished<'a>> {
        if !dir.join("complete").is_file() {
            bail!("image {name}: {} is not a finished image", dir.display());
        }
        Ok(Finished { name, dir })
    }

    /// The text of file `f` of the image.
    pub fn read(&self, f: &str) -> anyhow::Result<String> {
        let path = self.dir.join(f);
        std::fs::read_to_string(&path)
            .with_context(|| format!("image {}: cannot read {}", self.name, path.display()))
    }

    /// The board's only host key as `type base64` (no comment).
    pub fn host_key(&self) -> anyhow::Result<String> {
        let pub_line = self.read("ssh_host_ed25519_key.pub")?;
        let mut fields = pub_line.split_whitespace();
        match (fields.next(), fields.next()) {
            (Some(t), Some(k)) => Ok(format!("{t} {k}")),
            _ => bail!("image {}: malformed ssh_host_ed25519_key.pub", self.name),
        }
    }
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
