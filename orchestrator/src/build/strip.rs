//! The pushed copies of a build: stripped of everything (what a board
//! receives and the footprint measures), each with a `.debug` companion
//! holding the symbol table, which the gate uses to tell ARM code, Thumb
//! code and literal data apart and to name the function of an address.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// The symbol companion of a pushed artifact: `<artifact>.debug`.
pub fn debug_companion(artifact: &Path) -> PathBuf {
    let mut name = artifact.as_os_str().to_owned();
    name.push(".debug");
    PathBuf::from(name)
}

/// Copies `built` to `out_dir/<file name>` stripped with `strip` (the
/// target's binutils), writes the `.debug` companion with `objcopy`, and
/// returns the stripped path and its size in bytes.
pub fn strip_into(
    built: &Path,
    out_dir: &Path,
    strip: &str,
    objcopy: &str,
) -> anyhow::Result<(PathBuf, u64)> {
    let name = built
        .file_name()
        .with_context(|| format!("{}: no file name", built.display()))?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let stripped = out_dir.join(name);
    // Written under temporary names and renamed into place, so that another
    // `lwm` using the same workspace at the same time never reads a file
    // that is half written.
    let tmp = |p: &Path| {
        let mut n = p.as_os_str().to_owned();
        n.push(format!(".tmp{}", std::process::id()));
        PathBuf::from(n)
    };
    let (stripped_tmp, debug_tmp) = (tmp(&stripped), tmp(&debug_companion(&stripped)));
    run(Command::new(strip)
        .arg("--strip-all")
        .arg("-o")
        .arg(&stripped_tmp)
        .arg(built))?;
    run(Command::new(objcopy)
        .arg("--only-keep-debug")
        .arg(built)
        .arg(&debug_tmp))?;
    std::fs::rename(&debug_tmp, debug_companion(&stripped))
        .with_context(|| format!("{}", debug_tmp.display()))?;
    std::fs::rename(&stripped_tmp, &stripped)
        .with_context(|| format!("{}", stripped_tmp.display()))?;
    let size = std::fs::metadata(&stripped)
        .with_context(|| format!("{}", stripped.display()))?
        .len();
    Ok((stripped, size))
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{command:?}");
    let out = command
        .output()
        .with_context(|| format!("cannot run {shown}"))?;
    if !out.status.success() {
        bail!(
            "{shown} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
