//! QEMU images: built by the recipes in `images/` (see `images/build.sh`);
//! how to boot one is its recipe's `boot.args`.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{bail, Context};

use crate::provider::image::{build_from_recipe, Finished, Recipes};

/// Where QEMU images come from.
const RECIPES: Recipes = Recipes {
    folder: "images",
    recipe: "recipe.sh",
};

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
        let finished = Finished::open(name, dir)?;
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
        let host_key = finished.host_key()?;
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
    let dir = build_from_recipe(workspace, &RECIPES, name, &[], build_log, cancel)?;
    Image::open(workspace, name, &dir)
}
