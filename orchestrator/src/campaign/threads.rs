//! How many threads a board's multi-threaded workloads run with: what
//! `--threads` asked for, or else the board's CPU count, so that a
//! one-core Pi Zero does not time four threads taking turns on one core
//! and an eight-core board is not left half idle. The count is recorded
//! per board in the manifest; a resumed run keeps it, because the runs
//! already on disk were made with it.

use lwm_contract::schema::Cpu;

use crate::limits::MAX_THREADS;

/// The thread count for one board. `recorded` (the board's entry of a
/// resumed run) wins over `requested` (`--threads`), which wins over the
/// CPU count of `cpu` (`lwm-agent doctor`'s `environment.cpu`).
pub fn board_threads(
    requested: Option<u32>,
    recorded: Option<u32>,
    cpu: Option<&Cpu>,
) -> Result<u32, String> {
    if let Some(t) = recorded.or(requested) {
        return Ok(t);
    }
    cpu.map(|cpu| usable_cpus(cpu).clamp(1, MAX_THREADS))
        .ok_or_else(|| {
            "lwm-agent doctor reported no CPU count to size the workloads' threads by; give --threads"
                .to_string()
        })
}

/// The CPUs the agent may run on (its affinity mask, which `taskset` or a
/// container narrows), or the online CPUs when the mask is unknown.
fn usable_cpus(cpu: &Cpu) -> u32 {
    cpu.cores_allowed.unwrap_or(cpu.cores_online)
}

#[cfg(test)]
mod tests {
    use super::board_threads;
    use lwm_contract::schema::Cpu;

    /// A doctor's CPU facts with `online` CPUs, `allowed` by the affinity
    /// mask (unknown: `None`).
    fn cpu(online: u32, allowed: Option<u32>) -> Cpu {
        Cpu {
            model: None,
            platform: None,
            hwcap: None,
            hwcap2: None,
            features: Vec::new(),
            arm_architecture: None,
            arm_part: None,
            cores_online: online,
            cores_configured: online,
            cores_allowed: allowed,
        }
    }

    #[test]
    fn the_cpu_count_is_the_default_and_the_affinity_mask_counts_first() {
        assert_eq!(board_threads(None, None, Some(&cpu(8, Some(3)))), Ok(3));
        assert_eq!(board_threads(None, None, Some(&cpu(2, None))), Ok(2));
    }

    #[test]
    fn threads_asked_for_win_and_a_resumed_board_keeps_its_count() {
        let env = cpu(8, Some(8));
        assert_eq!(board_threads(Some(5), None, Some(&env)), Ok(5));
        assert_eq!(board_threads(Some(5), Some(2), Some(&env)), Ok(2));
        assert_eq!(board_threads(None, Some(6), None), Ok(6));
    }

    #[test]
    fn counts_the_workloads_refuse_are_clamped_and_a_missing_one_is_an_error() {
        assert_eq!(board_threads(None, None, Some(&cpu(4096, None))), Ok(1024));
        assert_eq!(board_threads(None, None, Some(&cpu(0, None))), Ok(1));
        // A doctor document without a CPU count is refused when it is read
        // (`cores_online` is required); without the doctor's CPUs at all:
        let err = board_threads(None, None, None).unwrap_err();
        assert!(err.contains("--threads"), "{err}");
    }
}
