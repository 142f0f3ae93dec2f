//! Images of container boards: built by the recipes in `docker/` and
//! tagged by a hash of the recipe (see `docker/build.sh`), which also
//! leaves a directory beside the image naming its tag and keys.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::bail;

use super::engine::Engine;
use crate::provider::image::{build_from_recipe, Finished, Recipes};

/// Where container images come from.
const RECIPES: Recipes = Recipes {
    folder: "docker",
    recipe: "Dockerfile",
};

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
        let finished = Finished::open(name, dir)?;
        let tag = finished.read("image")?.trim().to_string();
        let host_key = finished.host_key()?;
        let user_key = PathBuf::from(finished.read("user_key")?.trim());
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
    let dir = build_from_recipe(
        workspace,
        &RECIPES,
        name,
        &[("DOCKER_HOST", engine.host().to_string())],
        build_log,
        cancel,
    )?;
    BoardImage::open(name, &dir)
}
