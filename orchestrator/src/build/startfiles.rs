//! The ARMv6 hard-float stand-in start files and libc_nonshared (sources in
//! `cross/armv6-startfiles/`, see its README): assembled with the armhf
//! cross gcc for ARMv6KZ + VFPv2 in ARM state into one directory that gcc
//! searches first (`-B<dir>`), in place of Debian's ARMv7 + Thumb-2 ones.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use crate::platform::target::{cross_targets, TargetSpec};

/// (source file, object names it provides).
const OBJECTS: [(&str, &[&str]); 4] = [
    ("start.S", &["crt1.o", "Scrt1.o"]),
    ("dso_handle_exe.S", &["crtbegin.o", "crtbeginT.o"]),
    ("dso_handle_shared.S", &["crtbeginS.o"]),
    ("empty.S", &["crti.o", "crtn.o", "crtend.o", "crtendS.o"]),
];

/// The members of the stand-in libc_nonshared.a (cross/armv6-startfiles/nonshared).
const NONSHARED: [&str; 5] = [
    "pthread_atfork.c",
    "atexit.c",
    "at_quick_exit.c",
    "stack_chk_fail_local.c",
    "aeabi_read_tp.S",
];

/// The first 16 hex digits of the SHA-256 over every stand-in source (name
/// and content, in name order) and the C flags they are built with.
pub fn sources_hash(workspace: &Path) -> anyhow::Result<String> {
    let root = workspace.join("cross/armv6-startfiles");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("nonshared")] {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut all = Vec::new();
    for path in files {
        all.extend_from_slice(
            path.strip_prefix(&root)
                .unwrap_or(&path)
                .to_string_lossy()
                .as_bytes(),
        );
        all.push(0);
        all.extend(std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
        all.push(0);
    }
    for spec in cross_targets().filter(|t| t.armv6_startfiles) {
        all.extend_from_slice(spec.c_flags.as_bytes());
    }
    Ok(lwm_contract::sha256::sha256_hex(&all)[..16].to_string())
}

/// Builds the stand-ins for `spec` into `out_dir` and returns it. Cheap
/// (a dozen small gcc runs), so it simply runs every time.
pub fn prepare(workspace: &Path, spec: &TargetSpec, out_dir: &Path) -> anyhow::Result<PathBuf> {
    let sources = workspace.join("cross/armv6-startfiles");
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let flags: Vec<&str> = spec.c_flags.split_whitespace().collect();
    for (source, objects) in OBJECTS {
        for object in objects {
            compile(
                spec,
                &flags,
                &sources.join(source),
                &out_dir.join(object),
                &[],
            )?;
        }
    }
    // libc_nonshared.a: one object per member, like glibc's.
    let archive = out_dir.join("libc_nonshared.a");
    let _ = std::fs::remove_file(&archive);
    let mut members = Vec::new();
    for member in NONSHARED {
        let object = out_dir.join(format!("{}.o", member.split('.').next().unwrap_or(member)));
        compile(
            spec,
            &flags,
            &sources.join("nonshared").join(member),
            &object,
            &["-O2", "-fPIC", "-Wall", "-Wextra", "-Werror"],
        )?;
        members.push(object);
    }
    run(Command::new(format!("{}-ar", spec.gnu_prefix))
        .arg("rcs")
        .arg(&archive)
        .args(&members))?;
    // A libc.so linker script found before the sysroot's (gcc passes -B
    // directories to the linker as -L): the real libc.so.6 and loader, and
    // our libc_nonshared.a instead of Debian's Thumb-2 one.
    let libdir = Path::new(&spec.sysroot()).join("lib");
    let loader = std::fs::read_dir(&libdir)
        .with_context(|| format!("reading {}", libdir.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("ld-linux"))
        })
        .with_context(|| format!("no ld-linux*.so in {}", libdir.display()))?;
    let script = format!(
        "/* Written by lwm build: Debian's libc.so with an ARMv6 libc_nonshared.a. */\n\
         OUTPUT_FORMAT(elf32-littlearm)\n\
         GROUP ( {} {} AS_NEEDED ( {} ) )\n",
        libdir.join("libc.so.6").display(),
        archive.display(),
        loader.display()
    );
    std::fs::write(out_dir.join("libc.so"), script)
        .with_context(|| format!("writing {}/libc.so", out_dir.display()))?;
    Ok(out_dir.to_path_buf())
}

fn compile(
    spec: &TargetSpec,
    flags: &[&str],
    source: &Path,
    object: &Path,
    extra: &[&str],
) -> anyhow::Result<()> {
    run(Command::new(spec.gcc())
        .args(flags)
        .args(extra)
        .arg("-c")
        .arg(source)
        .arg("-o")
        .arg(object))
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{command:?}");
    let out = command.output().with_context(|| {
        format!("cannot run {shown} (is the cross toolchain installed? scripts/setup-cross.sh)")
    })?;
    if !out.status.success() {
        bail!(
            "{shown} failed:\n{}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
