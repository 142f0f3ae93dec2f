//! The boards' machines, one table per fact: the CPUs a profile may name
//! ([`cpu`]) and the target triples the kit builds for ([`target`]).
//! Profile loading, the build, the gate and the C-level checks all read
//! these tables; files outside Rust that keep a copy (Cross.toml,
//! cross/size.toml) are checked against them by [`copies`]' tests.

#[cfg(test)]
mod copies;
pub mod cpu;
pub mod target;

pub use cpu::{Cpu, CpuSpec, CPUS};
pub use target::{TargetIsa, TargetSpec, TARGETS};

/// The target a profile's `target` names: `host` is this machine's. None
/// for a triple the kit does not know, or `host` on a machine it does not
/// know.
pub fn profile_target(name: &str) -> Option<&'static TargetSpec> {
    match name {
        "host" => target::host(),
        triple => target::target(triple),
    }
}

/// Every value a profile's `target` may have, comma-separated, for messages.
pub fn profile_target_names() -> String {
    let names: Vec<&str> = std::iter::once("host")
        .chain(TARGETS.iter().map(|t| t.triple))
        .collect();
    names.join(", ")
}

/// Whether CPU `cpu` runs a profile's `target`. `native` runs `host` even
/// on a machine the target table does not know.
pub fn cpu_runs(cpu: &Cpu, target_name: &str) -> bool {
    match profile_target(target_name) {
        Some(t) => cpu.runs(t),
        None => target_name == "host" && *cpu == Cpu::Native,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cpu_runs_some_target_and_every_target_has_a_cpu() {
        for spec in CPUS {
            assert!(
                std::iter::once("host")
                    .chain(TARGETS.iter().map(|t| t.triple))
                    .any(|t| cpu_runs(&spec.cpu, t)),
                "{} runs no target a profile can name",
                spec.name
            );
        }
        for t in &TARGETS {
            assert!(
                CPUS.iter().any(|c| c.cpu.runs(t)),
                "no CPU runs {}",
                t.triple
            );
        }
    }

    #[test]
    fn the_boards_cpus_run_their_targets_and_no_others() {
        let runs = |cpu: &str, target: &str| cpu_runs(&cpu::lookup(cpu).unwrap(), target);
        assert!(runs("arm1176jzf-s", "arm-unknown-linux-gnueabihf"));
        assert!(runs("arm1176jzf-s", "arm-unknown-linux-gnueabi"));
        assert!(!runs("arm1176jzf-s", "armv7-unknown-linux-gnueabihf"));
        assert!(!runs("arm1176jzf-s", "aarch64-unknown-linux-gnu"));
        assert!(runs("cortex-a7", "armv7-unknown-linux-gnueabihf"));
        assert!(!runs("cortex-a7", "aarch64-unknown-linux-gnu"));
        assert!(runs("cortex-a8", "armv7-unknown-linux-gnueabihf"));
        assert!(runs("cortex-a72", "aarch64-unknown-linux-gnu"));
        assert!(runs("cortex-a72", "arm-unknown-linux-gnueabihf"));
        assert!(runs("x86-64", "x86_64-unknown-linux-gnu"));
        assert!(!runs("x86-64", "aarch64-unknown-linux-gnu"));
        assert!(runs("native", "host"));
        assert!(!runs("cortex-a72", "x86_64-unknown-linux-gnu"));
    }
}
