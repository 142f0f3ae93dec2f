//! Is the board fit to measure on? Free memory and disk, the CPU governor,
//! firmware throttling, temperature, emulation and load.

use super::check;
use crate::schema::{Check, CheckStatus, Environment};
use lwm_contract::request::DoctorRequest;

/// Board-wide checks: memory, disk, governor, throttling, emulation.
pub fn check_board(env: &Environment, opts: &DoctorRequest) -> Vec<Check> {
    let mut out = vec![
        free_memory(env, opts.min_free_mem_mib),
        free_disk(&opts.dir, opts.min_free_disk_mib),
        cpu_governor(env),
    ];
    out.extend(throttling(env));
    out.extend(temperature(env));
    out.push(emulation(env));
    out.extend(load(env));
    out
}

fn free_memory(env: &Environment, min_mib: u64) -> Check {
    match env.memory.available_kib.map(|k| k >> 10) {
        Some(m) if m >= min_mib => check(
            "free_memory",
            None,
            CheckStatus::Pass,
            format!("{m} MiB available"),
        ),
        Some(m) => check(
            "free_memory",
            None,
            CheckStatus::Fail,
            format!("{m} MiB available, below {min_mib} MiB"),
        ),
        None => check(
            "free_memory",
            None,
            CheckStatus::Warn,
            "MemAvailable unknown".into(),
        ),
    }
}

fn statvfs_free_mib(dir: &str) -> Option<u64> {
    let s = nix::sys::statvfs::statvfs(dir).ok()?;
    #[allow(clippy::unnecessary_cast)] // 32-bit on ARMv6
    Some((s.blocks_available() as u64).saturating_mul(s.fragment_size() as u64) >> 20)
}

fn free_disk(dir: &str, min_mib: u64) -> Check {
    match statvfs_free_mib(dir) {
        Some(m) if m >= min_mib => check(
            "free_disk",
            None,
            CheckStatus::Pass,
            format!("{m} MiB free in {dir}"),
        ),
        Some(m) => check(
            "free_disk",
            None,
            CheckStatus::Fail,
            format!("{m} MiB free in {dir}, below {min_mib} MiB"),
        ),
        None => check(
            "free_disk",
            None,
            CheckStatus::Warn,
            format!("cannot stat {dir}"),
        ),
    }
}

fn cpu_governor(env: &Environment) -> Check {
    let governors: Vec<&str> = env
        .cpufreq
        .iter()
        .filter_map(|f| f.governor.as_deref())
        .collect();
    if governors.is_empty() {
        check(
            "cpu_governor",
            None,
            CheckStatus::Pass,
            "no cpufreq scaling exposed".into(),
        )
    } else if governors.iter().all(|g| *g == "performance") {
        check(
            "cpu_governor",
            None,
            CheckStatus::Pass,
            "performance".into(),
        )
    } else {
        check(
            "cpu_governor",
            None,
            CheckStatus::Warn,
            format!(
                "governor {:?}: frequency scaling adds noise; `performance` is steadier",
                governors[0]
            ),
        )
    }
}

/// The Raspberry Pi firmware's throttling flags, where it reports them.
fn throttling(env: &Environment) -> Option<Check> {
    let th = env.throttled.as_ref()?;
    let st = if th == "0x0" || th.ends_with("=0") {
        CheckStatus::Pass
    } else {
        CheckStatus::Warn
    };
    Some(check(
        "throttling",
        None,
        st,
        format!("firmware throttling flags {th}"),
    ))
}

fn temperature(env: &Environment) -> Option<Check> {
    let hot = env
        .thermal
        .iter()
        .filter_map(|z| z.temp_c)
        .reduce(f64::max)?;
    let st = if hot < 75.0 {
        CheckStatus::Pass
    } else {
        CheckStatus::Warn
    };
    Some(check(
        "temperature",
        None,
        st,
        format!("hottest zone {hot:.1} °C"),
    ))
}

fn emulation(env: &Environment) -> Check {
    if env.emulation.user_mode {
        check(
            "emulation",
            None,
            CheckStatus::Warn,
            "running under user-mode emulation: time and memory figures are the emulator's".into(),
        )
    } else if let Some(vm) = &env.emulation.virtual_machine {
        check("emulation", None, CheckStatus::Warn, format!("virtual machine ({vm}): compare allocators with each other here, not with real boards"))
    } else {
        check(
            "emulation",
            None,
            CheckStatus::Pass,
            "bare metal as far as visible".into(),
        )
    }
}

fn load(env: &Environment) -> Option<Check> {
    let [l1, _, _] = env.load_average?;
    let cores = env.cpu.cores_online.max(1) as f64;
    let st = if l1 < 0.5 * cores {
        CheckStatus::Pass
    } else {
        CheckStatus::Warn
    };
    Some(check(
        "load",
        None,
        st,
        format!("1-minute load {l1:.2} on {cores} cores"),
    ))
}
