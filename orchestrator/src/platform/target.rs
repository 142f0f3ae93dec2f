//! Every target triple the kit builds for: the instruction set its code
//! needs (which CPUs run it, what the gate expects of its ELF files), and
//! what it needs to be built here without containers: the Debian cross
//! toolchain, whether rustup ships its std, the C flags that keep C code
//! (SQLite) on the board's instruction set, and how its binaries can be run
//! under qemu-user on this machine. Cross.toml and docker/cross-TRIPLE keep
//! copies for users of `cross`; a test checks they agree with this table.

/// The cargo configuration fragment every cross build is given, relative to
/// the workspace: the allocator crates optimised for size.
pub const SIZE_CONFIG: &str = "cross/size.toml";

/// What a target's code needs of the CPU, as the gate checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetIsa {
    X86_64,
    Aarch64,
    Arm32 {
        /// Tag_CPU_arch of the oldest architecture the code is built for
        /// (9 = ARMv6KZ, 10 = ARMv7).
        arch_tag: u64,
        hard_float: bool,
    },
}

/// Facts about one target. The host builds with plain `cargo build
/// --release` whatever its entry says about cross builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetSpec {
    pub triple: &'static str,
    pub isa: TargetIsa,
    /// Debian's GNU triple: `<prefix>-gcc`, `<prefix>-strip`, the
    /// target's libc under `/usr/<prefix>`, and its multiarch directory
    /// (`/usr/lib/<prefix>`; Debian names both after the GNU triple).
    pub gnu_prefix: &'static str,
    /// Built only on a machine of its own kind: the kit installs no cross
    /// toolchain for it.
    pub native_only: bool,
    /// Build core/alloc/std from source (`-Zbuild-std`, with
    /// RUSTC_BOOTSTRAP=1 on the stable toolchain): where rustup ships no
    /// std, and on 32-bit ARM generally, where rustup's prebuilt core and
    /// compiler-builtins are panic=unwind and their EHABI unwind tables
    /// name `rust_eh_personality`, which a no_std liblwmalloc.a or .so does
    /// not define (C programs linking liblwmalloc.a fail on it).
    pub build_std: bool,
    /// rustup ships a std for it (tests of the allocator crate for the
    /// target can use it instead of building one more std from source).
    pub rustup_std: bool,
    /// Flags for the target's C compiler (SQLite, stand-in start files).
    pub c_flags: &'static str,
    /// Link with the ARMv6 stand-in start files and libc_nonshared
    /// (cross/armv6-startfiles): Debian's armhf ones are ARMv7 + Thumb-2.
    pub armv6_startfiles: bool,
    /// The target whose libgcc lends its integer-division helpers to C
    /// programs built for this one, when this one's libgcc has them in
    /// instructions the board's CPU lacks (see qualify's C-level checks).
    pub division_helpers_from: Option<&'static str>,
    /// Rust flags that keep the allocator within its size budget here.
    pub size_rustflags: &'static [&'static str],
    /// How the test suite runs its binaries here, if it can.
    pub emulator: Option<Emulator>,
    /// Short description for tables and messages.
    pub description: &'static str,
}

/// A qemu-user command line that runs the target's binaries on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emulator {
    /// `qemu-aarch64`, `qemu-arm`.
    pub qemu: &'static str,
    /// `-cpu` model, when the default would hide instruction-set mistakes
    /// (qemu-arm emulates ARMv7 unless told `-cpu arm1176`).
    pub cpu: Option<&'static str>,
}

/// ARMv6KZ + VFPv2 in ARM state: the Raspberry Pi Zero W's ARM1176JZF-S.
const ARMV6_HARD_FLOAT_CFLAGS: &str = "-march=armv6kz+fp -marm -mfpu=vfp -mfloat-abi=hard";
/// The same CPU with the soft-float ABI of Debian armel.
const ARMV6_SOFT_FLOAT_CFLAGS: &str = "-march=armv6kz -marm -mfloat-abi=soft";

/// Every target the kit knows; the cross targets in the order of the
/// footprint table.
pub const TARGETS: [TargetSpec; 5] = [
    TargetSpec {
        triple: "x86_64-unknown-linux-gnu",
        isa: TargetIsa::X86_64,
        gnu_prefix: "x86_64-linux-gnu",
        native_only: true,
        build_std: false,
        rustup_std: true,
        c_flags: "",
        armv6_startfiles: false,
        division_helpers_from: None,
        size_rustflags: &[],
        emulator: None,
        description: "x86-64 Linux host",
    },
    TargetSpec {
        triple: "arm-unknown-linux-gnueabihf",
        isa: TargetIsa::Arm32 {
            arch_tag: 9,
            hard_float: true,
        },
        gnu_prefix: "arm-linux-gnueabihf",
        native_only: false,
        build_std: true,
        rustup_std: false,
        c_flags: ARMV6_HARD_FLOAT_CFLAGS,
        armv6_startfiles: true,
        // Debian armel's are ARMv5TE in ARM state, which the ARM1176 runs.
        division_helpers_from: Some("arm-unknown-linux-gnueabi"),
        size_rustflags: &[],
        // Debian's armhf loader is ARMv7: it traps on an emulated ARM1176.
        // Its soft-float twin below is the one run under emulation.
        emulator: None,
        description: "Pi Zero W (ARMv6 + VFPv2, hard-float)",
    },
    TargetSpec {
        triple: "arm-unknown-linux-gnueabi",
        isa: TargetIsa::Arm32 {
            arch_tag: 9,
            hard_float: false,
        },
        gnu_prefix: "arm-linux-gnueabi",
        native_only: false,
        build_std: true,
        rustup_std: false,
        c_flags: ARMV6_SOFT_FLOAT_CFLAGS,
        armv6_startfiles: false, // Debian armel's start files are ARMv5TE
        division_helpers_from: None,
        size_rustflags: &[],
        emulator: Some(Emulator {
            qemu: "qemu-arm",
            cpu: Some("arm1176"),
        }),
        description: "ARMv6 soft-float twin (Debian armel, emulated Pi Zero)",
    },
    TargetSpec {
        triple: "aarch64-unknown-linux-gnu",
        isa: TargetIsa::Aarch64,
        gnu_prefix: "aarch64-linux-gnu",
        native_only: false,
        build_std: false,
        rustup_std: true,
        // ARMv8.0: runs on the Pi 4's Cortex-A72 and the Orin's A78AE.
        c_flags: "-march=armv8-a",
        armv6_startfiles: false,
        division_helpers_from: None,
        // Atomics inline (LL/SC, which every ARMv8 core runs) instead of
        // calls to helpers that pick LSE at run time: the helpers and their
        // CPU-feature probe cost about 1.7 KB of liblwmalloc.so's 20 KB
        // budget, and the Pi 4's Cortex-A72 has no LSE to pick anyway.
        size_rustflags: &["-C target-feature=-outline-atomics"],
        emulator: Some(Emulator {
            qemu: "qemu-aarch64",
            cpu: Some("cortex-a72"),
        }),
        description: "Pi 4 / Jetson Orin Nano (ARMv8.0)",
    },
    TargetSpec {
        triple: "armv7-unknown-linux-gnueabihf",
        isa: TargetIsa::Arm32 {
            arch_tag: 10,
            hard_float: true,
        },
        gnu_prefix: "arm-linux-gnueabihf",
        native_only: false,
        build_std: true,
        rustup_std: true,
        c_flags: "",
        armv6_startfiles: false,
        division_helpers_from: None,
        size_rustflags: &[],
        emulator: Some(Emulator {
            qemu: "qemu-arm",
            cpu: None,
        }),
        description: "ARMv7 + NEON, hard-float",
    },
];

/// The target `triple`, or None for one the kit does not know.
pub fn target(triple: &str) -> Option<&'static TargetSpec> {
    TARGETS.iter().find(|t| t.triple == triple)
}

/// The targets `lwm build` can build on any machine with the cross
/// toolchains, in the order of the footprint table.
pub fn cross_targets() -> impl Iterator<Item = &'static TargetSpec> {
    TARGETS.iter().filter(|t| !t.native_only)
}

/// The spec of a cross target, or None for a triple `lwm build` does not
/// know (the host is handled separately).
pub fn cross_target(triple: &str) -> Option<&'static TargetSpec> {
    cross_targets().find(|t| t.triple == triple)
}

/// The target this binary was compiled for, which is what `target =
/// "host"` in a profile names; None on a machine the table does not know.
pub fn host() -> Option<&'static TargetSpec> {
    let triple = if cfg!(target_arch = "aarch64") {
        "aarch64-unknown-linux-gnu"
    } else if cfg!(target_arch = "arm") {
        "armv7-unknown-linux-gnueabihf"
    } else if cfg!(target_arch = "x86_64") {
        "x86_64-unknown-linux-gnu"
    } else {
        return None;
    };
    target(triple)
}

impl TargetSpec {
    /// `CARGO_TARGET_<TRIPLE>_...` spelling of the triple.
    pub fn cargo_env_name(&self) -> String {
        self.triple.to_uppercase().replace(['-', '.'], "_")
    }

    /// `CC_<triple>` spelling of the triple (cc-rs).
    pub fn cc_env_name(&self) -> String {
        self.triple.replace(['-', '.'], "_")
    }

    pub fn gcc(&self) -> String {
        format!("{}-gcc", self.gnu_prefix)
    }

    pub fn strip(&self) -> String {
        format!("{}-strip", self.gnu_prefix)
    }

    pub fn objcopy(&self) -> String {
        format!("{}-objcopy", self.gnu_prefix)
    }

    /// Debian's multiarch directory name (`{multiarch}` in profiles).
    pub fn multiarch(&self) -> &'static str {
        self.gnu_prefix
    }

    /// The target's libc root (qemu's `-L`).
    pub fn sysroot(&self) -> String {
        format!("/usr/{}", self.gnu_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_follow_cargo_and_cc_rs() {
        let t = cross_target("armv7-unknown-linux-gnueabihf").unwrap();
        assert_eq!(t.cargo_env_name(), "ARMV7_UNKNOWN_LINUX_GNUEABIHF");
        assert_eq!(t.cc_env_name(), "armv7_unknown_linux_gnueabihf");
        assert_eq!(t.gcc(), "arm-linux-gnueabihf-gcc");
        assert!(cross_target("x86_64-unknown-linux-gnu").is_none());
    }

    #[test]
    fn armv6_targets_build_std_and_stay_in_arm_state() {
        for t in TARGETS.iter().filter(|t| t.triple.starts_with("arm-")) {
            assert!(t.build_std, "{}", t.triple);
            assert!(t.c_flags.contains("-march=armv6kz") && t.c_flags.contains("-marm"));
        }
    }
}
