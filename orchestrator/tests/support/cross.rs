//! For the tests of the cross toolchains and the gate (gate_isa,
//! build_targets, build_armv6_startfiles, qualify_cross): test board
//! profiles that never connect, scratch directories and the tool runner
//! whose failure points at scripts/setup-cross.sh.
//!
//! ```ignore
//! #[path = "support/cross.rs"]
//! mod cross;
//! use cross::{board, run, scratch};
//! ```
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use lwm::board::{Access, BoardProfile, Emulation, Timeouts};

/// A local profile of board `name`: the gate and the builds read only its
/// target, CPU and glibc.
pub fn board(name: &str, target: &str, cpu: &str, glibc: Option<&str>) -> BoardProfile {
    BoardProfile {
        name: name.into(),
        description: format!("{name} (test profile)"),
        file: PathBuf::from(format!("boards/{name}.toml")),
        file_sha256: String::new(),
        target: target.into(),
        cpu: cpu.into(),
        glibc: glibc.map(str::to_string),
        access: Access::Local,
        provider: None,
        work_dir: "/tmp/lwm".into(),
        allocators: BTreeMap::new(),
        emulation: Emulation::None,
        workload_scale: 1.0,
        timeouts: Timeouts::default(),
    }
}

/// The C flags the kit builds ARMv6 hard-float code with (the Pi Zero W's
/// ARM1176JZF-S: ARMv6KZ + VFPv2 in ARM state).
pub fn armv6_hf_flags() -> Vec<&'static str> {
    lwm::platform::target::target("arm-unknown-linux-gnueabihf")
        .expect("the ARMv6 hard-float target")
        .c_flags
        .split_whitespace()
        .collect()
}

/// A fresh directory of its own for each call, named after `tag`.
pub fn scratch(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "lwm-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs a cross tool, which must succeed.
pub fn run(command: &mut Command) {
    let shown = format!("{command:?}");
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e} (run scripts/setup-cross.sh)"));
    assert!(
        out.status.success(),
        "{shown} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
