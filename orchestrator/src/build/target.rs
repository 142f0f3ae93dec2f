//! What each supported target triple needs to be built here without
//! containers: the Debian cross toolchain, whether rustup ships its std,
//! the C flags that keep C code (SQLite) on the board's instruction set,
//! and how its binaries can be run under qemu-user on this machine.

/// Facts about one cross target. The host is not described here: it builds
/// with plain `cargo build --release`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetSpec {
    pub triple: &'static str,
    /// Debian's GNU triple: `<prefix>-gcc`, `<prefix>-strip`, and the
    /// target's libc under `/usr/<prefix>`.
    pub gnu_prefix: &'static str,
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

/// Every cross target `lwm build` knows, in the order of the footprint table.
pub const CROSS_TARGETS: [TargetSpec; 4] = [
    TargetSpec {
        triple: "arm-unknown-linux-gnueabihf",
        gnu_prefix: "arm-linux-gnueabihf",
        build_std: true,
        rustup_std: false,
        c_flags: ARMV6_HARD_FLOAT_CFLAGS,
        armv6_startfiles: true,
        // Debian's armhf loader is ARMv7: it traps on an emulated ARM1176.
        // Its soft-float twin below is the one run under emulation.
        emulator: None,
        description: "Pi Zero W (ARMv6 + VFPv2, hard-float)",
    },
    TargetSpec {
        triple: "arm-unknown-linux-gnueabi",
        gnu_prefix: "arm-linux-gnueabi",
        build_std: true,
        rustup_std: false,
        c_flags: ARMV6_SOFT_FLOAT_CFLAGS,
        armv6_startfiles: false, // Debian armel's start files are ARMv5TE
        emulator: Some(Emulator {
            qemu: "qemu-arm",
            cpu: Some("arm1176"),
        }),
        description: "ARMv6 soft-float twin (Debian armel, emulated Pi Zero)",
    },
    TargetSpec {
        triple: "aarch64-unknown-linux-gnu",
        gnu_prefix: "aarch64-linux-gnu",
        build_std: false,
        rustup_std: true,
        // ARMv8.0: runs on the Pi 4's Cortex-A72 and the Orin's A78AE.
        c_flags: "-march=armv8-a",
        armv6_startfiles: false,
        emulator: Some(Emulator {
            qemu: "qemu-aarch64",
            cpu: Some("cortex-a72"),
        }),
        description: "Pi 4 / Jetson Orin Nano (ARMv8.0)",
    },
    TargetSpec {
        triple: "armv7-unknown-linux-gnueabihf",
        gnu_prefix: "arm-linux-gnueabihf",
        build_std: true,
        rustup_std: true,
        c_flags: "",
        armv6_startfiles: false,
        emulator: Some(Emulator {
            qemu: "qemu-arm",
            cpu: None,
        }),
        description: "ARMv7 + NEON, hard-float",
    },
];

/// The spec of a cross target, or None for a triple `lwm build` does not
/// know (the host is handled separately).
pub fn cross_target(triple: &str) -> Option<&'static TargetSpec> {
    CROSS_TARGETS.iter().find(|t| t.triple == triple)
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
        for t in CROSS_TARGETS
            .iter()
            .filter(|t| t.triple.starts_with("arm-"))
        {
            assert!(t.build_std, "{}", t.triple);
            assert!(t.c_flags.contains("-march=armv6kz") && t.c_flags.contains("-marm"));
        }
    }
}
