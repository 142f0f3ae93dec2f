//! Turning a merged `extends` chain into a checked [`BoardProfile`], one
//! field at a time; each bad value is reported where it was set.

use std::collections::BTreeMap;
use std::time::Duration;

use super::chain::{chain_sha256, expand_home, Chain};
use super::load::{err, valid_name, BoardError};
use super::profile::{Access, BoardProfile, Emulation, Timeouts};
use super::raw::{Merged, Sourced};
use crate::platform;

/// Turns the merged chain into a checked profile.
pub(super) fn resolve(name: String, chain: &Chain, m: Merged) -> Result<BoardProfile, BoardError> {
    let target = target(chain, &m)?;
    let cpu = cpu(chain, &m, &target)?;
    let glibc = glibc(chain, &m)?;
    let emulation = emulation(chain, &m)?;
    let (access, provider) = super::reach::access(chain, &m, emulation)?;
    let work_dir = work_dir(chain, &m, &access)?;
    let allocators = allocators(chain, &m, &target)?;
    let workload_scale = workload_scale(chain, &m)?;
    let timeouts = timeouts(chain, &m)?;
    Ok(BoardProfile {
        name,
        description: m.description.unwrap_or_default(),
        file: chain.leaf().to_path_buf(),
        file_sha256: chain_sha256(chain),
        target,
        cpu,
        glibc,
        access,
        provider,
        work_dir,
        allocators,
        emulation,
        workload_scale,
        timeouts,
    })
}

/// `target`: a triple of the target table, or `host`.
fn target(chain: &Chain, m: &Merged) -> Result<String, BoardError> {
    let target = m.target.clone().ok_or_else(|| chain.missing("target"))?;
    if target.value != "host" && platform::target::target(&target.value).is_none() {
        return Err(err(format!(
            "{}: field `target`: unsupported target `{}` (supported: {})",
            chain.at_value(&target),
            target.value,
            platform::profile_target_names()
        )));
    }
    Ok(target.value)
}

/// `cpu`: a CPU of the CPU table that runs `target`.
fn cpu(chain: &Chain, m: &Merged, target: &str) -> Result<String, BoardError> {
    let cpu = m.cpu.clone().ok_or_else(|| chain.missing("cpu"))?;
    let cpu_isa = platform::cpu::lookup(&cpu.value).ok_or_else(|| {
        err(format!(
            "{}: field `cpu`: unknown CPU `{}` (known: {})",
            chain.at_value(&cpu),
            cpu.value,
            platform::cpu::names()
        ))
    })?;
    if !platform::cpu_runs(&cpu_isa, target) {
        return Err(err(format!(
            "{}: field `cpu`: a {} cannot run target `{}`",
            chain.at_value(&cpu),
            cpu.value,
            target
        )));
    }
    Ok(cpu.value)
}

/// `glibc`, if set: a version like `2.36`.
fn glibc(chain: &Chain, m: &Merged) -> Result<Option<String>, BoardError> {
    let Some(g) = &m.glibc else {
        return Ok(None);
    };
    let ok = g
        .value
        .split_once('.')
        .is_some_and(|(a, b)| a == "2" && !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()));
    if !ok {
        return Err(err(format!(
            "{}: field `glibc`: `{}` is not a glibc version like \"2.36\"",
            chain.at_value(g),
            g.value
        )));
    }
    Ok(Some(g.value.clone()))
}

/// `emulation`, or what a `[qemu]` or `[docker]` board implies.
fn emulation(chain: &Chain, m: &Merged) -> Result<Emulation, BoardError> {
    Ok(match &m.emulation {
        None if m.qemu_image.is_some() => Emulation::System,
        None if m.docker_image.is_some() => Emulation::User,
        None => Emulation::None,
        Some(e) => match e.value.as_str() {
            "none" => Emulation::None,
            "qemu-system" => Emulation::System,
            "qemu-user" => Emulation::User,
            other => {
                return Err(err(format!(
                    "{}: field `emulation`: `{other}` is not one of none, qemu-system, qemu-user",
                    chain.at_value(e)
                )))
            }
        },
    })
}

/// `work_dir`: absolute on the board; on this machine `~/` is expanded.
fn work_dir(chain: &Chain, m: &Merged, access: &Access) -> Result<String, BoardError> {
    let work_dir = m
        .work_dir
        .clone()
        .ok_or_else(|| chain.missing("work_dir"))?;
    let value = match access {
        // On this machine `~` can be expanded now; on a board it cannot.
        Access::Local => expand_home(&work_dir.value).display().to_string(),
        Access::Ssh(_) => work_dir.value.clone(),
    };
    if !value.starts_with('/') {
        return Err(err(format!(
            "{}: field `work_dir`: `{}` must be an absolute path{}",
            chain.at_value(&work_dir),
            work_dir.value,
            if matches!(access, Access::Local) {
                " (or start with ~/)"
            } else {
                " on the board"
            }
        )));
    }
    Ok(value)
}

/// `[allocators]`: other allocators on the board by name, with
/// `{multiarch}` in their paths replaced for `target`.
fn allocators(
    chain: &Chain,
    m: &Merged,
    target: &str,
) -> Result<BTreeMap<String, String>, BoardError> {
    let mut allocators = BTreeMap::new();
    for (alloc, path) in &m.allocators {
        check_allocator(chain, alloc, path)?;
        let resolved = path.value.replace("{multiarch}", &multiarch(target));
        allocators.insert(alloc.clone(), resolved);
    }
    Ok(allocators)
}

fn check_allocator(chain: &Chain, alloc: &str, path: &Sourced<String>) -> Result<(), BoardError> {
    if alloc == "lwmalloc" || alloc == "system" {
        return Err(err(format!(
            "{}: allocators.{alloc}: `{alloc}` is built in and cannot be redefined",
            chain.at_value(path)
        )));
    }
    if !valid_name(alloc) {
        return Err(err(format!(
            "{}: allocators.{alloc}: names are lower-case letters, digits, '-' and '_'",
            chain.at_value(path)
        )));
    }
    if !path.value.starts_with('/') {
        return Err(err(format!(
            "{}: allocators.{alloc}: `{}` must be an absolute path on the board",
            chain.at_value(path),
            path.value
        )));
    }
    Ok(())
}

/// `workload_scale`: positive and finite, 1.0 by default.
fn workload_scale(chain: &Chain, m: &Merged) -> Result<f64, BoardError> {
    match &m.workload_scale {
        None => Ok(1.0),
        Some(x) if x.value > 0.0 && x.value.is_finite() => Ok(x.value),
        Some(x) => Err(err(format!(
            "{}: field `workload_scale`: `{}` must be a positive number like 0.05",
            chain.at_value(x),
            x.value
        ))),
    }
}

/// `[timeouts]`: each at least a second; the defaults where unset.
fn timeouts(chain: &Chain, m: &Merged) -> Result<Timeouts, BoardError> {
    let mut timeouts = Timeouts::default();
    for (field, value, slot) in [
        ("connect_s", &m.connect_s, &mut timeouts.connect),
        ("run_s", &m.run_s, &mut timeouts.run),
        ("board_s", &m.board_s, &mut timeouts.board),
    ] {
        if let Some(v) = value {
            if v.value == 0 {
                return Err(err(format!(
                    "{}: field `timeouts.{field}` must be at least 1 second",
                    chain.at_value(v)
                )));
            }
            *slot = Duration::from_secs(v.value);
        }
    }
    Ok(timeouts)
}

/// Debian's multiarch directory name for a target (`{multiarch}` in
/// allocator paths), so one profile can name `/usr/lib/{multiarch}/...`.
/// On a host the target table does not know, Debian's usual spelling.
fn multiarch(target: &str) -> String {
    match platform::profile_target(target) {
        Some(t) => t.multiarch().to_string(),
        None => format!("{}-linux-gnu", std::env::consts::ARCH),
    }
}
