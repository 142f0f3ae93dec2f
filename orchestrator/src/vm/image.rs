//! Images of emulated boards: built by the recipes in `images/` and cached
//! outside the source tree under a hash of the recipe (see
//! `images/build.sh`). This side only runs the build and reads the result.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
pub fn ensure_image(workspace: &Path, name: &str, build_log: &Path) -> anyhow::Result<Image> {
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
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(build_log)
        .with_context(|| format!("cannot open {}", build_log.display()))?;
    let out = Command::new("bash")
        .arg(&script)
        .arg(name)
        .stdin(Stdio::null())
        .stderr(log)
        .output()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !out.status.success() {
        let tail = last_lines(build_log, 3);
        bail!(
            "image {name}: build failed ({}); see {}: {tail}",
            out.status,
            build_log.display()
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = stdout
        .lines()
        .last()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .with_context(|| format!("image {name}: build printed no directory"))?;
    Image::open(workspace, name, Path::new(dir))
}

/// The last `n` non-empty lines of a file, joined by " | ".
pub(crate) fn last_lines(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}
