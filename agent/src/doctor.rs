//! `lwm-agent doctor`: will these binaries run correctly on this board,
//! and is the board fit to measure on? Catches, before a campaign, the
//! traps that otherwise show up as SIGILL halfway through or as numbers
//! that mean nothing: ARMv7 code on an ARMv6 CPU, LSE atomics on an
//! ARMv8.0 CPU, a float ABI or loader the system lacks, a glibc older than
//! the binary needs, too little memory or disk, a throttling or emulated board.

use crate::elf::{self, Elf};
use crate::environment;
use crate::schema::{
    Check, CheckStatus, Cpu, DoctorDocument, DoctorStatus, Environment, DOCTOR_SCHEMA,
    SCHEMA_VERSION,
};
use lwm_contract::request::DoctorRequest;
use std::path::Path;

/// What the CPU can execute, as far as the checks need to know.
#[derive(Clone, Debug)]
pub struct CpuCaps {
    pub machine: u16,
    pub is64: bool,
    /// ARM architecture level the CPU implements (6 for ARM1176, 7, 8).
    pub arm_level: Option<u32>,
    pub thumb2: bool,
    pub vfp3: bool,
    pub neon: bool,
    /// AArch64 LSE atomics (ARMv8.1).
    pub lse: bool,
    pub glibc: Option<(u32, u32)>,
    pub description: String,
}

const HWCAP_ARM_THUMBEE: u64 = 1 << 11; // ThumbEE implies Thumb-2
const HWCAP_ARM_NEON: u64 = 1 << 12;
const HWCAP_ARM_VFPV3: u64 = 1 << 13;
const HWCAP_AARCH64_ATOMICS: u64 = 1 << 8;

fn parse_version(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split('.');
    Some((
        it.next()?.parse().ok()?,
        it.next().unwrap_or("0").parse().ok()?,
    ))
}

impl CpuCaps {
    pub fn detect(env: &Environment) -> CpuCaps {
        let own = std::fs::read("/proc/self/exe").ok();
        let (mut machine, mut is64) = own
            .as_deref()
            .and_then(|d| Elf::parse(d).ok())
            .map(|e| (e.machine, e.is64))
            .unwrap_or((0, true));
        let cpu: &Cpu = &env.cpu;
        let m = env.kernel.machine.as_str();
        // A 32-bit agent on a 64-bit kernel: describe the CPU, not the agent.
        if m == "aarch64" {
            machine = elf::EM_AARCH64;
            is64 = true;
        } else if m == "x86_64" {
            machine = elf::EM_X86_64;
            is64 = true;
        }
        let platform = cpu.platform.clone().unwrap_or_default();
        let level_of = |s: &str| {
            s.strip_prefix('v')
                .or_else(|| s.strip_prefix("armv"))
                .and_then(|r| r.chars().next()?.to_digit(10))
        };
        let arm_level = match machine {
            elf::EM_ARM => level_of(&platform).or_else(|| level_of(m)),
            elf::EM_AARCH64 => Some(8),
            _ => None,
        };
        let has = |f: &str| cpu.features.iter().any(|x| x == f);
        let hw = cpu.hwcap.unwrap_or(0);
        let arm32 = machine == elf::EM_ARM;
        CpuCaps {
            machine,
            is64,
            arm_level,
            thumb2: arm_level.is_some_and(|l| l >= 7) || (arm32 && hw & HWCAP_ARM_THUMBEE != 0),
            vfp3: has("vfpv3")
                || has("vfpv4")
                || (arm32 && hw & HWCAP_ARM_VFPV3 != 0)
                || machine == elf::EM_AARCH64,
            neon: has("neon") || has("asimd") || (arm32 && hw & HWCAP_ARM_NEON != 0),
            lse: has("atomics") || (machine == elf::EM_AARCH64 && hw & HWCAP_AARCH64_ATOMICS != 0),
            glibc: env.libc.version.as_deref().and_then(parse_version),
            description: format!(
                "{} ({}{})",
                cpu.model.clone().unwrap_or_else(|| m.to_string()),
                m,
                if platform.is_empty() {
                    String::new()
                } else {
                    format!(", {platform}")
                }
            ),
        }
    }
}

fn check(name: &str, target: Option<&str>, status: CheckStatus, detail: String) -> Check {
    Check {
        name: name.into(),
        target: target.map(str::to_string),
        status,
        detail,
    }
}

/// ARM Tag_CPU_arch → the architecture level a CPU needs to run it.
fn arm_level_needed(tag: u64) -> (u32, bool) {
    match tag {
        0..=5 => (5, false),
        6 | 7 | 9 => (6, false),
        8 => (6, true), // v6T2: Thumb-2 on v6, which the ARM1176 lacks
        10 => (7, false),
        14.. => (8, false),
        _ => (99, false), // M-profile: not for an A-profile Linux board
    }
}

/// All checks for one binary's bytes against `cpu`. `path` is for messages;
/// `interp_exists` answers whether a loader path exists on this system.
pub fn check_binary(
    path: &str,
    data: &[u8],
    cpu: &CpuCaps,
    interp_exists: &dyn Fn(&str) -> bool,
) -> Vec<Check> {
    let t = Some(path);
    let mut out = Vec::new();
    let elf = match Elf::parse(data) {
        Ok(e) => e,
        Err(e) => {
            out.push(check(
                "elf",
                t,
                CheckStatus::Fail,
                format!("cannot read: {e}"),
            ));
            return out;
        }
    };
    let bits = if elf.is64 { 64 } else { 32 };
    let compat32 = cpu.machine == elf::EM_AARCH64 && elf.machine == elf::EM_ARM
        || cpu.machine == elf::EM_X86_64 && elf.machine == elf::EM_386;
    if elf.machine == cpu.machine && elf.is64 == cpu.is64 {
        out.push(check(
            "elf_machine",
            t,
            CheckStatus::Pass,
            format!("{} {bits}-bit, as the CPU", elf.machine_name()),
        ));
    } else if compat32 {
        out.push(check("elf_machine", t, CheckStatus::Warn, format!("{} {bits}-bit on a 64-bit {} kernel: runs only with 32-bit compat support and a 32-bit loader", elf.machine_name(), elf::machine_name(cpu.machine))));
    } else {
        out.push(check(
            "elf_machine",
            t,
            CheckStatus::Fail,
            format!(
                "built for {} {bits}-bit; this CPU runs {}",
                elf.machine_name(),
                elf::machine_name(cpu.machine)
            ),
        ));
        return out;
    }

    // Float ABI and loader: a hard-float binary needs ld-linux-armhf.so.3.
    if elf.machine == elf::EM_ARM {
        let abi = if elf.flags & elf::EF_ARM_ABI_FLOAT_HARD != 0 {
            "hard-float"
        } else if elf.flags & elf::EF_ARM_ABI_FLOAT_SOFT != 0 {
            "soft-float"
        } else {
            "float ABI unmarked"
        };
        out.push(check(
            "float_abi",
            t,
            CheckStatus::Pass,
            format!("{abi}, EABI version {}", elf.flags >> 24),
        ));
    }
    match &elf.interpreter {
        Some(i) if interp_exists(i) => out.push(check(
            "loader",
            t,
            CheckStatus::Pass,
            format!("{i} present"),
        )),
        Some(i) => out.push(check(
            "loader",
            t,
            CheckStatus::Fail,
            format!("needs the loader {i}, which this system lacks (wrong float ABI or libc?)"),
        )),
        None => {}
    }

    // Instruction set level: ARM build attributes.
    if elf.machine == elf::EM_ARM {
        let attrs = elf.arm_attributes();
        let get = |tag| attrs.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v);
        match (get(6), cpu.arm_level) {
            (Some(arch), Some(level)) => {
                let (need, thumb2) = arm_level_needed(arch);
                if need > level || (thumb2 && !cpu.thumb2) {
                    out.push(check("cpu_arch", t, CheckStatus::Fail, format!("built for ARM {} (Tag_CPU_arch), this CPU is ARMv{level}: it will die with SIGILL", elf::arm_arch_name(arch))));
                } else {
                    out.push(check(
                        "cpu_arch",
                        t,
                        CheckStatus::Pass,
                        format!(
                            "ARM {} code on an ARMv{level} CPU",
                            elf::arm_arch_name(arch)
                        ),
                    ));
                }
            }
            (None, _) => out.push(check(
                "cpu_arch",
                t,
                CheckStatus::Warn,
                "no ARM build attributes: architecture level not checked".into(),
            )),
            (_, None) => out.push(check(
                "cpu_arch",
                t,
                CheckStatus::Warn,
                "CPU architecture level unknown".into(),
            )),
        }
        if get(9) == Some(2) && !cpu.thumb2 {
            out.push(check(
                "thumb",
                t,
                CheckStatus::Fail,
                "uses Thumb-2 (Tag_THUMB_ISA_use=2); this CPU has Thumb-1 only".into(),
            ));
        }
        if let Some(fp) = get(10) {
            if (3..=8).contains(&fp) && !cpu.vfp3 {
                out.push(check(
                    "fpu",
                    t,
                    CheckStatus::Fail,
                    format!("needs VFPv3 or later (Tag_FP_arch={fp}); this CPU has VFPv2 at most"),
                ));
            }
        }
        if get(12).is_some_and(|v| v > 0) && !cpu.neon {
            out.push(check(
                "simd",
                t,
                CheckStatus::Fail,
                "uses NEON (Tag_Advanced_SIMD_arch); this CPU has none".into(),
            ));
        }
    }

    // AArch64: LSE atomics on a v8.0 core (Cortex-A72 / Raspberry Pi 4).
    // The outline-atomics helpers Rust links in hold LSE instructions that
    // run only after checking the CPU (`elf::lse_is_guarded`): not a fault.
    if elf.machine == elf::EM_AARCH64 {
        let (mut unguarded, mut guarded) = (0, 0);
        let mut first = None;
        for (name, code) in elf.code_sections() {
            let scan = elf::scan_lse(code, elf.little_endian);
            unguarded += scan.unguarded;
            guarded += scan.guarded;
            if let (None, Some(off)) = (&first, scan.first_unguarded) {
                first = Some(format!("{name}+{off:#x}"));
            }
        }
        let helpers = if guarded > 0 {
            format!(" ({guarded} in outline-atomics helpers, used only when the CPU has LSE)")
        } else {
            String::new()
        };
        if unguarded == 0 {
            out.push(check(
                "lse_atomics",
                t,
                CheckStatus::Pass,
                format!("no unconditional ARMv8.1 LSE / v8.3 LDAPR instructions{helpers}"),
            ));
        } else if cpu.lse {
            out.push(check(
                "lse_atomics",
                t,
                CheckStatus::Pass,
                format!("{unguarded} LSE instructions; this CPU has LSE atomics"),
            ));
        } else {
            out.push(check("lse_atomics", t, CheckStatus::Fail, format!("{unguarded} ARMv8.1 LSE (or v8.3 LDAPR) instructions, first at {}; this CPU is ARMv8.0 without atomics: SIGILL{helpers}", first.unwrap_or_default())));
        }
    }

    // glibc symbol versions the binary needs.
    let needed: Vec<(u32, u32)> = elf
        .needed_versions()
        .iter()
        .filter_map(|(_, v)| v.strip_prefix("GLIBC_").and_then(parse_version))
        .collect();
    if let Some(max) = needed.iter().max() {
        let need = format!("GLIBC_{}.{}", max.0, max.1);
        match cpu.glibc {
            Some(have) if have >= *max => out.push(check(
                "glibc",
                t,
                CheckStatus::Pass,
                format!("needs {need}, system has {}.{}", have.0, have.1),
            )),
            Some(have) => out.push(check(
                "glibc",
                t,
                CheckStatus::Fail,
                format!(
                    "needs {need}, system glibc is {}.{}: it will not load",
                    have.0, have.1
                ),
            )),
            None => out.push(check(
                "glibc",
                t,
                CheckStatus::Warn,
                format!("needs {need}, but this system's libc is not glibc"),
            )),
        }
    }
    out
}

fn statvfs_free_mib(dir: &str) -> Option<u64> {
    let s = nix::sys::statvfs::statvfs(dir).ok()?;
    #[allow(clippy::unnecessary_cast)] // 32-bit on ARMv6
    Some((s.blocks_available() as u64).saturating_mul(s.fragment_size() as u64) >> 20)
}

/// Board-wide checks: memory, disk, governor, throttling, emulation.
pub fn check_board(env: &Environment, opts: &DoctorRequest) -> Vec<Check> {
    let mut out = Vec::new();
    match env.memory.available_kib.map(|k| k >> 10) {
        Some(m) if m >= opts.min_free_mem_mib => out.push(check(
            "free_memory",
            None,
            CheckStatus::Pass,
            format!("{m} MiB available"),
        )),
        Some(m) => out.push(check(
            "free_memory",
            None,
            CheckStatus::Fail,
            format!("{m} MiB available, below {} MiB", opts.min_free_mem_mib),
        )),
        None => out.push(check(
            "free_memory",
            None,
            CheckStatus::Warn,
            "MemAvailable unknown".into(),
        )),
    }
    match statvfs_free_mib(&opts.dir) {
        Some(m) if m >= opts.min_free_disk_mib => out.push(check(
            "free_disk",
            None,
            CheckStatus::Pass,
            format!("{m} MiB free in {}", opts.dir),
        )),
        Some(m) => out.push(check(
            "free_disk",
            None,
            CheckStatus::Fail,
            format!(
                "{m} MiB free in {}, below {} MiB",
                opts.dir, opts.min_free_disk_mib
            ),
        )),
        None => out.push(check(
            "free_disk",
            None,
            CheckStatus::Warn,
            format!("cannot stat {}", opts.dir),
        )),
    }
    let governors: Vec<&str> = env
        .cpufreq
        .iter()
        .filter_map(|f| f.governor.as_deref())
        .collect();
    if governors.is_empty() {
        out.push(check(
            "cpu_governor",
            None,
            CheckStatus::Pass,
            "no cpufreq scaling exposed".into(),
        ));
    } else if governors.iter().all(|g| *g == "performance") {
        out.push(check(
            "cpu_governor",
            None,
            CheckStatus::Pass,
            "performance".into(),
        ));
    } else {
        out.push(check(
            "cpu_governor",
            None,
            CheckStatus::Warn,
            format!(
                "governor {:?}: frequency scaling adds noise; `performance` is steadier",
                governors[0]
            ),
        ));
    }
    if let Some(th) = &env.throttled {
        let st = if th == "0x0" || th.ends_with("=0") {
            CheckStatus::Pass
        } else {
            CheckStatus::Warn
        };
        out.push(check(
            "throttling",
            None,
            st,
            format!("firmware throttling flags {th}"),
        ));
    }
    if let Some(hot) = env.thermal.iter().filter_map(|z| z.temp_c).reduce(f64::max) {
        let st = if hot < 75.0 {
            CheckStatus::Pass
        } else {
            CheckStatus::Warn
        };
        out.push(check(
            "temperature",
            None,
            st,
            format!("hottest zone {hot:.1} °C"),
        ));
    }
    if env.emulation.user_mode {
        out.push(check(
            "emulation",
            None,
            CheckStatus::Warn,
            "running under user-mode emulation: time and memory figures are the emulator's".into(),
        ));
    } else if let Some(vm) = &env.emulation.virtual_machine {
        out.push(check("emulation", None, CheckStatus::Warn, format!("virtual machine ({vm}): compare allocators with each other here, not with real boards")));
    } else {
        out.push(check(
            "emulation",
            None,
            CheckStatus::Pass,
            "bare metal as far as visible".into(),
        ));
    }
    if let Some([l1, _, _]) = env.load_average {
        let cores = env.cpu.cores_online.max(1) as f64;
        let st = if l1 < 0.5 * cores {
            CheckStatus::Pass
        } else {
            CheckStatus::Warn
        };
        out.push(check(
            "load",
            None,
            st,
            format!("1-minute load {l1:.2} on {cores} cores"),
        ));
    }
    out
}

pub fn run(opts: &DoctorRequest) -> Result<DoctorDocument, String> {
    let env = environment::collect();
    let cpu = CpuCaps::detect(&env);
    let mut checks = check_board(&env, opts);
    for b in &opts.binaries {
        let data = std::fs::read(b).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("binary {b}: no such file"),
            _ => format!("binary {b}: {e}"),
        })?;
        checks.extend(check_binary(b, &data, &cpu, &|i| Path::new(i).exists()));
    }
    let status = if checks.iter().any(|c| c.status == CheckStatus::Fail) {
        DoctorStatus::Failed
    } else if checks.iter().any(|c| c.status == CheckStatus::Warn) {
        DoctorStatus::Warnings
    } else {
        DoctorStatus::Ok
    };
    Ok(DoctorDocument {
        schema: DOCTOR_SCHEMA.into(),
        schema_version: SCHEMA_VERSION,
        agent: crate::invocation::agent_info(None),
        environment: env,
        checks,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sec {
        name: &'static str,
        kind: u32,
        flags: u64,
        data: Vec<u8>,
        link: u32,
    }

    /// A minimal ELF file (little-endian) with the given sections.
    fn build_elf(is64: bool, machine: u16, flags: u32, secs: &[Sec]) -> Vec<u8> {
        let ehsize = if is64 { 64 } else { 52 };
        let mut out = vec![0u8; ehsize];
        let mut shstr = vec![0u8];
        let mut hdrs = Vec::new(); // (name_off, kind, flags, offset, size, link)
        hdrs.push((0u32, 0u32, 0u64, 0u64, 0u64, 0u32));
        for s in secs {
            let name_off = shstr.len() as u32;
            shstr.extend_from_slice(s.name.as_bytes());
            shstr.push(0);
            hdrs.push((
                name_off,
                s.kind,
                s.flags,
                out.len() as u64,
                s.data.len() as u64,
                s.link,
            ));
            out.extend_from_slice(&s.data);
        }
        let name_off = shstr.len() as u32;
        shstr.extend_from_slice(b".shstrtab\0");
        hdrs.push((name_off, 3, 0, out.len() as u64, shstr.len() as u64, 0));
        out.extend_from_slice(&shstr);
        while out.len() % 8 != 0 {
            out.push(0);
        }
        let shoff = out.len() as u64;
        for (n, k, f, o, sz, l) in &hdrs {
            if is64 {
                out.extend_from_slice(&n.to_le_bytes());
                out.extend_from_slice(&k.to_le_bytes());
                out.extend_from_slice(&f.to_le_bytes());
                out.extend_from_slice(&0u64.to_le_bytes());
                out.extend_from_slice(&o.to_le_bytes());
                out.extend_from_slice(&sz.to_le_bytes());
                out.extend_from_slice(&l.to_le_bytes());
                out.extend_from_slice(&[0u8; 20]);
            } else {
                for v in [*n, *k, *f as u32, 0, *o as u32, *sz as u32, *l, 0, 0, 0] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = if is64 { 2 } else { 1 };
        out[5] = 1;
        out[6] = 1;
        out[16..18].copy_from_slice(&elf::ET_DYN.to_le_bytes());
        out[18..20].copy_from_slice(&machine.to_le_bytes());
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        let shnum = hdrs.len() as u16;
        if is64 {
            out[40..48].copy_from_slice(&shoff.to_le_bytes());
            out[48..52].copy_from_slice(&flags.to_le_bytes());
            out[52..54].copy_from_slice(&64u16.to_le_bytes());
            out[58..60].copy_from_slice(&64u16.to_le_bytes());
            out[60..62].copy_from_slice(&shnum.to_le_bytes());
            out[62..64].copy_from_slice(&(shnum - 1).to_le_bytes());
        } else {
            out[32..36].copy_from_slice(&(shoff as u32).to_le_bytes());
            out[36..40].copy_from_slice(&flags.to_le_bytes());
            out[40..42].copy_from_slice(&52u16.to_le_bytes());
            out[46..48].copy_from_slice(&40u16.to_le_bytes());
            out[48..50].copy_from_slice(&shnum.to_le_bytes());
            out[50..52].copy_from_slice(&(shnum - 1).to_le_bytes());
        }
        out
    }

    fn words(w: &[u32]) -> Vec<u8> {
        w.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn cpu(machine: u16, is64: bool, level: u32, lse: bool) -> CpuCaps {
        CpuCaps {
            machine,
            is64,
            arm_level: Some(level),
            thumb2: level >= 7,
            vfp3: level >= 7,
            neon: level >= 7,
            lse,
            glibc: Some((2, 36)),
            description: "test CPU".into(),
        }
    }

    fn status_of<'a>(checks: &'a [Check], name: &str) -> &'a str {
        checks
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.status.as_str())
            .unwrap_or("missing")
    }

    // Ordinary ARMv8.0 code: ret, ldxr, stxr, ldar, stlr, ldr, add, nop, ldaxr, stlxr.
    const V80: [u32; 10] = [
        0xd65f03c0, 0xc85f7c20, 0xc8027c20, 0xc8dffc20, 0xc89ffc20, 0xf9400020, 0x91000420,
        0xd503201f, 0xc85ffc20, 0xc802fc20,
    ];

    #[test]
    fn lse_atomics_found_only_where_they_are() {
        assert_eq!(elf::scan_lse(&words(&V80), true), elf::LseScan::default());
        // ldadd w0, w0, [x1]; casal x0, x1, [x2]; swp w0, w0, [x1]; casp x0, x1, x2, x3, [x4]
        let lse = [0xb8200020, 0xc8e0fc41, 0xb8208020, 0x48207c82];
        let mut code = V80.to_vec();
        code.extend_from_slice(&lse);
        let scan = elf::scan_lse(&words(&code), true);
        assert_eq!(
            (scan.unguarded, scan.first_unguarded, scan.guarded),
            (4, Some(40), 0)
        );
        let text = |c: &[u32]| Sec {
            name: ".text",
            kind: 1,
            flags: 6,
            data: words(c),
            link: 0,
        };
        let bin = build_elf(true, elf::EM_AARCH64, 0, &[text(&code)]);
        let on_a72 = check_binary("t", &bin, &cpu(elf::EM_AARCH64, true, 8, false), &|_| true);
        assert_eq!(status_of(&on_a72, "lse_atomics"), "fail", "{on_a72:?}");
        let on_a76 = check_binary("t", &bin, &cpu(elf::EM_AARCH64, true, 8, true), &|_| true);
        assert_eq!(status_of(&on_a76, "lse_atomics"), "pass");
        let clean = build_elf(true, elf::EM_AARCH64, 0, &[text(&V80)]);
        assert_eq!(
            status_of(
                &check_binary("t", &clean, &cpu(elf::EM_AARCH64, true, 8, false), &|_| {
                    true
                }),
                "lse_atomics"
            ),
            "pass"
        );
    }

    // __aarch64_cas4_acq as rustc links it (from a stripped liblwmalloc.so):
    // adrp x16; ldrb w16, [x16, #4080]; cbz w16, +12; casa w0, w1, [x2]; ret;
    // then the ldaxr/stxr fallback loop.
    const CAS4_ACQ_HELPER: [u32; 12] = [
        0xb0000370, 0x397fc210, 0x34000070, 0x88e07c41, 0xd65f03c0, 0x2a0003f0, 0x885ffc40,
        0x6b10001f, 0x54000061, 0x88117c41, 0x35ffff91, 0xd65f03c0,
    ];

    #[test]
    fn outline_atomics_helpers_pass_on_an_armv8_0_cpu_even_stripped() {
        let scan = elf::scan_lse(&words(&CAS4_ACQ_HELPER), true);
        assert_eq!((scan.unguarded, scan.guarded), (0, 1));
        let text = |c: &[u32]| Sec {
            name: ".text",
            kind: 1,
            flags: 6,
            data: words(c),
            link: 0,
        };
        let a72 = cpu(elf::EM_AARCH64, true, 8, false);
        let bin = build_elf(true, elf::EM_AARCH64, 0, &[text(&CAS4_ACQ_HELPER)]);
        let c = check_binary("helper", &bin, &a72, &|_| true);
        assert_eq!(status_of(&c, "lse_atomics"), "pass", "{c:?}");

        // The same instruction without the check in front of it, or with a
        // branch that does not skip it, is unconditional.
        for broken in [
            {
                let mut w = CAS4_ACQ_HELPER;
                w[1] = 0xd503201f; // nop instead of the flag load
                w
            },
            {
                let mut w = CAS4_ACQ_HELPER;
                w[2] = 0x34000050; // cbz w16, +8: lands on the ret, LSE still runs
                w
            },
            {
                let mut w = CAS4_ACQ_HELPER;
                w[2] = 0x34000071; // cbz w17: tests another register
                w
            },
        ] {
            let scan = elf::scan_lse(&words(&broken), true);
            assert_eq!((scan.unguarded, scan.guarded), (1, 0), "{broken:x?}");
            let bin = build_elf(true, elf::EM_AARCH64, 0, &[text(&broken)]);
            let c = check_binary("broken", &bin, &a72, &|_| true);
            assert_eq!(status_of(&c, "lse_atomics"), "fail", "{c:?}");
        }
    }

    fn arm_attributes(arch: u8, thumb: u8, fp: u8) -> Vec<u8> {
        let mut attrs = vec![5];
        attrs.extend_from_slice(b"7-A\0"); // Tag_CPU_name, a string: must be skipped
        attrs.extend_from_slice(&[6, arch, 9, thumb, 10, fp, 28, 1]);
        let mut file = vec![1];
        file.extend_from_slice(&((attrs.len() + 5) as u32).to_le_bytes());
        file.extend_from_slice(&attrs);
        let mut sub = Vec::new();
        sub.extend_from_slice(&((4 + 6 + file.len()) as u32).to_le_bytes());
        sub.extend_from_slice(b"aeabi\0");
        sub.extend_from_slice(&file);
        let mut sec = vec![b'A'];
        sec.extend_from_slice(&sub);
        sec
    }

    #[test]
    fn armv7_code_fails_on_an_armv6_cpu() {
        let attrs = |a, t, f| Sec {
            name: ".ARM.attributes",
            kind: 0x7000_0003,
            flags: 0,
            data: arm_attributes(a, t, f),
            link: 0,
        };
        let v7 = build_elf(false, elf::EM_ARM, 0x0500_0400, &[attrs(10, 2, 4)]);
        let zero = cpu(elf::EM_ARM, false, 6, false);
        let c = check_binary("v7", &v7, &zero, &|_| true);
        assert_eq!(status_of(&c, "cpu_arch"), "fail", "{c:?}");
        assert_eq!(status_of(&c, "thumb"), "fail");
        assert_eq!(status_of(&c, "fpu"), "fail");
        assert!(c
            .iter()
            .any(|x| x.name == "float_abi" && x.detail.starts_with("hard-float")));
        let pi4 = cpu(elf::EM_ARM, false, 8, false);
        assert_eq!(
            status_of(&check_binary("v7", &v7, &pi4, &|_| true), "cpu_arch"),
            "pass"
        );
        // Clean v6KZ / Thumb-1 / VFPv2 code runs on the ARM1176.
        let v6 = build_elf(false, elf::EM_ARM, 0x0500_0400, &[attrs(7, 1, 2)]);
        let c = check_binary("v6", &v6, &zero, &|_| true);
        assert_eq!(status_of(&c, "cpu_arch"), "pass", "{c:?}");
        assert!(c.iter().all(|x| x.status != "fail"), "{c:?}");
    }

    #[test]
    fn machine_and_glibc_versions() {
        let dynstr = b"\0libc.so.6\0GLIBC_2.34\0GLIBC_2.2.5\0".to_vec();
        let mut vr = Vec::new();
        for v in [1u16, 2] {
            vr.extend_from_slice(&v.to_le_bytes());
        }
        for v in [1u32, 16, 0] {
            vr.extend_from_slice(&v.to_le_bytes());
        }
        for (name, next) in [(11u32, 16u32), (22, 0)] {
            vr.extend_from_slice(&0u32.to_le_bytes());
            vr.extend_from_slice(&[0, 0, 0, 0]);
            vr.extend_from_slice(&name.to_le_bytes());
            vr.extend_from_slice(&next.to_le_bytes());
        }
        let secs = [
            Sec {
                name: ".dynstr",
                kind: 3,
                flags: 0,
                data: dynstr,
                link: 0,
            },
            Sec {
                name: ".gnu.version_r",
                kind: 0x6fff_fffe,
                flags: 0,
                data: vr,
                link: 1,
            },
        ];
        let bin = build_elf(true, elf::EM_X86_64, 0, &secs);
        let e = Elf::parse(&bin).unwrap();
        assert_eq!(e.needed_versions().len(), 2);
        let mut host = cpu(elf::EM_X86_64, true, 0, false);
        assert_eq!(
            status_of(&check_binary("b", &bin, &host, &|_| true), "glibc"),
            "pass"
        );
        host.glibc = Some((2, 31));
        let c = check_binary("b", &bin, &host, &|_| true);
        assert_eq!(status_of(&c, "glibc"), "fail");
        assert!(c.iter().any(|x| x.detail.contains("GLIBC_2.34")));
        let arm = cpu(elf::EM_AARCH64, true, 8, false);
        assert_eq!(
            status_of(&check_binary("b", &bin, &arm, &|_| true), "elf_machine"),
            "fail"
        );
        assert_eq!(
            status_of(
                &check_binary(
                    "b",
                    b"not elf at all, clearly not elf, no no no no no no",
                    &arm,
                    &|_| true
                ),
                "elf"
            ),
            "fail"
        );
    }
}
