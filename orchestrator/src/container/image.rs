//! Images of container boards: built by the recipes in `docker/` and
//! tagged by a hash of the recipe (see `docker/build.sh`). This side only
//! runs the build and reads what it left beside the image.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{bail, Context};

use super::engine::Engine;

/// A built board image. Invariant: `dir/complete` existed when read, so
/// every file named here is whole, and the engine held `tag`.
#[derive(Debug, Clone)]
pub struct BoardImage {
    pub name: String,
    /// The cache directory `docker/build.sh` printed.
    pub dir: PathBuf,
    /// `lwm/NAME:HASH`.
    pub tag: String,
    /// The container's only host key as `type base64` (no comment).
    pub host_key: String,
    /// Private key authorised as root in the container.
    pub user_key: PathBuf,
}

impl BoardImage {
    /// Reads a finished image directory.
    pub fn open(name: &str, dir: &Path) -> anyhow::Result<BoardImage> {
        if !dir.join("complete").is_file() {
            bail!("image {name}: {} is not a finished image", dir.display());
        }
        let read = |f: &str| {
            std::fs::read_to_string(dir.join(f))
                .with_context(|| format!("image {name}: cannot read {}", dir.join(f).display()))
        };
        let tag = read("image")?.trim().to_string();
        let pub_line = read("ssh_host_ed25519_key.pub")?;
        let mut fields = pub_line.split_whitespace();
        let host_key = match (fields.next(), fields.next()) {
            (Some(t), Some(k)) => format!("{t} {k}"),
            _ => bail!("image {name}: malformed ssh_host_ed25519_key.pub"),
        };
        let user_key = PathBuf::from(read("user_key")?.trim());
        if !user_key.is_file() {
            bail!(
                "image {name}: the kit's key {} is missing (delete {} to rebuild the image)",
                user_key.display(),
                dir.display()
            );
        }
        Ok(BoardImage {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            tag,
            host_key,
            user_key,
        })
    }
}

/// Returns board image `name`, building it first when its recipe's hash
/// has no image yet (minutes; the build's output goes to `build_log`).
/// Setting `cancel` stops a build in progress.
pub fn ensure_image(
    workspace: &Path,
    engine: &Engine,
    name: &str,
    build_log: &Path,
    cancel: &AtomicBool,
) -> anyhow::Result<BoardImage> {
    let script = workspace.join("docker/build.sh");
    if !script.is_file() {
        bail!("image {name}: no {}", script.display());
    }
    if !workspace
        .join("docker")
        .join(name)
        .join("Dockerfile")
        .is_file()
    {
        bail!("image {name}: no recipe docker/{name}/Dockerfile");
    }
    let dir = crate::vm::run_image_build(
        &script,
        name,
        &[("DOCKER_HOST", engine.host().to_string())],
        build_log,
        cancel,
    )?;
    BoardImage::open(name, &dir)
}
