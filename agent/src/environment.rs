//! The machine a measurement was taken on, recorded once per invocation:
//! without it a number cannot be compared or trusted later.

use crate::schema::{Cpu, CpuFreq, Emulation, Environment, Kernel, Libc, Memory, ThermalZone};
use std::ffi::CStr;
use std::fs;
use std::path::Path;

fn read_trim(path: impl AsRef<Path>) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| {
        s.trim_matches(|c: char| c.is_whitespace() || c == '\0')
            .to_string()
    })
}

fn read_u64(path: impl AsRef<Path>) -> Option<u64> {
    read_trim(path)?.parse().ok()
}

pub fn uname() -> Kernel {
    let s = |f: &std::ffi::OsStr| f.to_string_lossy().into_owned();
    match nix::sys::utsname::uname() {
        Ok(u) => Kernel {
            sysname: s(u.sysname()),
            release: s(u.release()),
            version: s(u.version()),
            machine: s(u.machine()),
        },
        Err(_) => Kernel {
            sysname: String::new(),
            release: String::new(),
            version: String::new(),
            machine: String::new(),
        },
    }
}

/// AT_PLATFORM from the auxiliary vector: the kernel's name for the CPU's
/// ISA level (v6l, v7l, aarch64, ...), reliable where cpuinfo is not.
pub fn at_platform() -> Option<String> {
    // SAFETY: getauxval has no preconditions; AT_PLATFORM, when present,
    // points to a NUL-terminated string in the process's initial stack.
    unsafe {
        let p = libc::getauxval(libc::AT_PLATFORM) as *const libc::c_char;
        (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
    }
}

pub fn hwcaps() -> (Option<u64>, Option<u64>) {
    // SAFETY: getauxval has no preconditions; 0 means absent.
    let (a, b) = unsafe {
        (
            libc::getauxval(libc::AT_HWCAP),
            libc::getauxval(libc::AT_HWCAP2),
        )
    };
    #[allow(clippy::unnecessary_cast)] // c_ulong is 32-bit on ARMv6
    let (a, b) = (a as u64, b as u64);
    ((a != 0).then_some(a), (b != 0).then_some(b))
}

/// "key : value" lines of /proc/cpuinfo; the first occurrence of each key.
pub fn cpuinfo_field(cpuinfo: &str, key: &str) -> Option<String> {
    cpuinfo.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

pub fn libc_info() -> Libc {
    #[cfg(target_env = "gnu")]
    {
        extern "C" {
            fn gnu_get_libc_version() -> *const libc::c_char;
        }
        // SAFETY: glibc returns a pointer to a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(gnu_get_libc_version()) }
            .to_string_lossy()
            .into_owned();
        Libc {
            name: "glibc".into(),
            version: Some(v),
        }
    }
    #[cfg(not(target_env = "gnu"))]
    {
        Libc {
            name: if cfg!(target_env = "musl") {
                "musl".into()
            } else {
                "unknown".into()
            },
            version: None,
        }
    }
}

fn meminfo(key: &str, text: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

pub fn memory() -> Memory {
    let m = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    Memory {
        total_kib: meminfo("MemTotal:", &m),
        available_kib: meminfo("MemAvailable:", &m),
        swap_total_kib: meminfo("SwapTotal:", &m),
        swap_free_kib: meminfo("SwapFree:", &m),
    }
}

fn sysconf(name: libc::c_int) -> u32 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(name) };
    v.max(0) as u32
}

fn cores_allowed() -> Option<u32> {
    use nix::sched::{sched_getaffinity, CpuSet};
    let set = sched_getaffinity(nix::unistd::Pid::from_raw(0)).ok()?;
    Some(
        (0..CpuSet::count())
            .filter(|&i| set.is_set(i).unwrap_or(false))
            .count() as u32,
    )
}

pub fn cpu() -> Cpu {
    let info = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let (hwcap, hwcap2) = hwcaps();
    let features = cpuinfo_field(&info, "Features")
        .or_else(|| cpuinfo_field(&info, "flags"))
        .or_else(|| cpuinfo_field(&info, "isa"))
        .map(|f| f.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let model = cpuinfo_field(&info, "model name")
        .or_else(|| cpuinfo_field(&info, "Model"))
        .or_else(|| cpuinfo_field(&info, "Hardware"))
        .or_else(|| cpuinfo_field(&info, "uarch"));
    Cpu {
        model,
        platform: at_platform(),
        hwcap,
        hwcap2,
        features,
        arm_architecture: cpuinfo_field(&info, "CPU architecture"),
        arm_part: cpuinfo_field(&info, "CPU part").map(|p| {
            match cpuinfo_field(&info, "CPU revision") {
                Some(r) => format!("{p} r{r}"),
                None => p,
            }
        }),
        cores_online: sysconf(libc::_SC_NPROCESSORS_ONLN),
        cores_configured: sysconf(libc::_SC_NPROCESSORS_CONF),
        cores_allowed: cores_allowed(),
    }
}

fn cpufreq() -> Vec<CpuFreq> {
    let mut out = Vec::new();
    for cpu in 0..sysconf(libc::_SC_NPROCESSORS_CONF).max(1) {
        let d = format!("/sys/devices/system/cpu/cpu{cpu}/cpufreq");
        if !Path::new(&d).exists() {
            continue;
        }
        out.push(CpuFreq {
            cpu,
            governor: read_trim(format!("{d}/scaling_governor")),
            cur_khz: read_u64(format!("{d}/scaling_cur_freq")),
            min_khz: read_u64(format!("{d}/scaling_min_freq")),
            max_khz: read_u64(format!("{d}/scaling_max_freq")),
        });
    }
    out
}

fn thermal() -> Vec<ThermalZone> {
    let mut zones: Vec<_> = fs::read_dir("/sys/class/thermal")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("thermal_zone"))
                .collect()
        })
        .unwrap_or_else(|_| Vec::new());
    zones.sort();
    zones
        .into_iter()
        .map(|z| ThermalZone {
            kind: read_trim(format!("/sys/class/thermal/{z}/type")),
            temp_c: read_trim(format!("/sys/class/thermal/{z}/temp"))
                .and_then(|t| t.parse::<f64>().ok())
                .map(|m| m / 1000.0),
            zone: z,
        })
        .collect()
}

/// Raspberry Pi firmware's under-voltage / throttling flags, where exposed.
fn throttled() -> Option<String> {
    [
        "/sys/devices/platform/soc/soc:firmware/get_throttled",
        "/sys/devices/platform/soc/soc:firmware/raspberrypi-hwmon/get_throttled",
    ]
    .iter()
    .find_map(read_trim)
    .map(|v| format!("0x{v}"))
    .or_else(|| {
        read_trim("/sys/class/hwmon/hwmon0/in0_lcrit_alarm")
            .map(|v| format!("undervoltage_alarm={v}"))
    })
}

fn load_average() -> Option<[f64; 3]> {
    let s = read_trim("/proc/loadavg")?;
    let v: Vec<f64> = s
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect();
    (v.len() == 3).then(|| [v[0], v[1], v[2]])
}

fn board_model() -> Option<String> {
    read_trim("/proc/device-tree/model")
        .or_else(|| read_trim("/sys/firmware/devicetree/base/model"))
        .or_else(|| {
            let vendor = read_trim("/sys/class/dmi/id/sys_vendor")?;
            let product = read_trim("/sys/class/dmi/id/product_name").unwrap_or_default();
            Some(format!("{vendor} {product}").trim().to_string())
        })
}

/// Products of the USB devices whose manufacturer string is "QEMU".
fn qemu_usb_devices() -> Vec<String> {
    let mut products: Vec<String> = fs::read_dir("/sys/bus/usb/devices")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|d| read_trim(d.path().join("manufacturer")).as_deref() == Some("QEMU"))
        .map(|d| read_trim(d.path().join("product")).unwrap_or_else(|| "unnamed".into()))
        .collect();
    products.sort();
    products.dedup();
    products
}

/// A Raspberry Pi's /proc/cpuinfo names its board revision and serial
/// number, which the firmware sets; QEMU's raspi machines leave both zero.
fn blank_raspberry_pi_firmware(cpuinfo: &str) -> Option<String> {
    let hardware = cpuinfo_field(cpuinfo, "Hardware")?;
    let revision = cpuinfo_field(cpuinfo, "Revision")?;
    let serial = cpuinfo_field(cpuinfo, "Serial")?;
    let zero = |v: &str| !v.is_empty() && v.bytes().all(|b| b == b'0');
    (hardware.starts_with("BCM") && zero(&revision) && zero(&serial)).then(|| {
        format!("{hardware} with board revision {revision} and serial {serial} (QEMU raspi)")
    })
}

/// Is this agent emulated? qemu-user shows the host's /proc/cpuinfo (an
/// x86 CPU to an ARM binary) and the host's memory figures; a system VM
/// shows a hypervisor in DMI, the device tree or the CPU flags.
pub fn emulation(cpu: &Cpu) -> Emulation {
    let info = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let mut evidence = Vec::new();
    let built_for_x86 = cfg!(any(target_arch = "x86", target_arch = "x86_64"));
    let cpu_is_x86 = info.contains("vendor_id")
        || cpuinfo_field(&info, "flags").is_some_and(|f| f.contains(" sse"));
    let mut user_mode = false;
    if !built_for_x86 && cpu_is_x86 {
        user_mode = true;
        evidence.push("non-x86 agent sees an x86 /proc/cpuinfo (qemu-user)".into());
    }
    if let Some(p) = &cpu.platform {
        let arch = std::env::consts::ARCH;
        let consistent = match arch {
            "arm" => p.starts_with('v') || p.starts_with("arm"),
            "aarch64" => p.contains("aarch64") || p.starts_with('v'),
            "x86_64" => {
                p.contains("x86_64")
                    || p.contains("i686")
                    || p.starts_with("haswell")
                    || p.starts_with("xeon")
            }
            _ => true,
        };
        if !consistent {
            user_mode = true;
            evidence.push(format!("AT_PLATFORM {p} does not match the agent's {arch}"));
        }
    }
    let mut vm = None;
    if let Some(v) = read_trim("/sys/class/dmi/id/sys_vendor") {
        for known in [
            "QEMU",
            "KVM",
            "VMware",
            "Xen",
            "Microsoft",
            "innotek",
            "Amazon EC2",
            "Google",
            "Firecracker",
        ] {
            if v.contains(known) {
                vm = Some(v.clone());
                evidence.push(format!("DMI sys_vendor: {v}"));
            }
        }
    }
    if let Some(c) = read_trim("/proc/device-tree/compatible") {
        if c.contains("linux,dummy-virt") || c.contains("qemu") {
            vm.get_or_insert_with(|| "QEMU virt".into());
            evidence.push("device tree: linux,dummy-virt".into());
        }
    }
    if cpu_is_x86
        && cpuinfo_field(&info, "flags")
            .is_some_and(|f| f.split_whitespace().any(|x| x == "hypervisor"))
    {
        vm.get_or_insert_with(|| "hypervisor flag".into());
        evidence.push("cpu flag: hypervisor".into());
    }
    if Path::new("/proc/xen").exists() {
        vm.get_or_insert_with(|| "Xen".into());
        evidence.push("/proc/xen exists".into());
    }
    // Machines QEMU models on real boards (raspi0, raspi3b...) have no
    // DMI and a real board's device tree; they give themselves away by
    // the USB devices QEMU makes and by the firmware values it leaves
    // at zero.
    for product in qemu_usb_devices() {
        vm.get_or_insert_with(|| "QEMU".into());
        evidence.push(format!("USB device made by QEMU: {product}"));
    }
    if let Some(why) = blank_raspberry_pi_firmware(&info) {
        vm.get_or_insert_with(|| "QEMU raspi".into());
        evidence.push(why);
    }
    Emulation {
        user_mode,
        virtual_machine: vm,
        evidence,
    }
}

pub fn collect() -> Environment {
    let cpu = cpu();
    let emulation = emulation(&cpu);
    Environment {
        hostname: read_trim("/proc/sys/kernel/hostname"),
        kernel: uname(),
        memory: memory(),
        libc: libc_info(),
        cpufreq: cpufreq(),
        thermal: thermal(),
        throttled: throttled(),
        load_average: load_average(),
        board_model: board_model(),
        emulation,
        cpu,
        agent_target: format!(
            "{}-{}-{}",
            std::env::consts::ARCH,
            std::env::consts::OS,
            if cfg!(target_env = "gnu") {
                "gnu"
            } else if cfg!(target_env = "musl") {
                "musl"
            } else {
                "other"
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::blank_raspberry_pi_firmware;

    #[test]
    fn qemu_raspi_firmware_values_are_told_from_a_real_pi() {
        // /proc/cpuinfo of the qemu-pizero board (QEMU -M raspi0).
        let qemu = "processor\t: 0\nmodel name\t: ARMv6-compatible processor rev 7 (v6l)\n\n\
                    Hardware\t: BCM2835\nRevision\t: 0000\nSerial\t\t: 0000000000000000\n";
        let why = blank_raspberry_pi_firmware(qemu).expect("QEMU raspi0");
        assert!(why.contains("BCM2835") && why.contains("0000"), "{why}");
        // A real Pi Zero W.
        let real = "Hardware\t: BCM2835\nRevision\t: 9000c1\nSerial\t\t: 00000000a1b2c3d4\n";
        assert_eq!(blank_raspberry_pi_firmware(real), None);
        // Not a Pi at all, or fields missing.
        assert_eq!(blank_raspberry_pi_firmware("processor\t: 0\n"), None);
        let other = "Hardware\t: Generic DT\nRevision\t: 0000\nSerial\t\t: 0000000000000000\n";
        assert_eq!(blank_raspberry_pi_firmware(other), None);
    }
}
