//! How many threads a board's multi-threaded workloads run with: what
//! `--threads` asked for, or else the board's CPU count, so that a
//! one-core Pi Zero does not time four threads taking turns on one core
//! and an eight-core board is not left half idle. The count is recorded
//! per board in the manifest; a resumed run keeps it, because the runs
//! already on disk were made with it.

use serde_json::Value;

use crate::limits::MAX_THREADS;

/// The thread count for one board. `recorded` (the board's entry of a
/// resumed run) wins over `requested` (`--threads`), which wins over the
/// CPU count in `environment` (`lwm-agent doctor`'s `environment`).
pub fn board_threads(
    requested: Option<u32>,
    recorded: Option<u32>,
    environment: Option<&Value>,
) -> Result<u32, String> {
    if let Some(t) = recorded.or(requested) {
        return Ok(t);
    }
    cpu_count(environment)
        .map(|n| n.clamp(1, u64::from(MAX_THREADS)) as u32)
        .ok_or_else(|| {
            "lwm-agent doctor reported no CPU count to size the workloads' threads by; give --threads"
                .to_string()
        })
}

/// The CPUs the agent may run on (its affinity mask, which `taskset` or a
/// container narrows), or the online CPUs when the mask is unknown.
fn cpu_count(environment: Option<&Value>) -> Option<u64> {
    let cpu = environment?.get("cpu")?;
    ["cores_allowed", "cores_online"]
        .iter()
        .find_map(|field| cpu.get(field).and_then(Value::as_u64))
}

#[cfg(test)]
mod tests {
    use super::board_threads;
    use serde_json::json;

    #[test]
    fn the_cpu_count_is_the_default_and_the_affinity_mask_counts_first() {
        let env = json!({ "cpu": { "cores_online": 8, "cores_allowed": 3 } });
        assert_eq!(board_threads(None, None, Some(&env)), Ok(3));
        let env = json!({ "cpu": { "cores_online": 2, "cores_allowed": null } });
        assert_eq!(board_threads(None, None, Some(&env)), Ok(2));
    }

    #[test]
    fn threads_asked_for_win_and_a_resumed_board_keeps_its_count() {
        let env = json!({ "cpu": { "cores_online": 8, "cores_allowed": 8 } });
        assert_eq!(board_threads(Some(5), None, Some(&env)), Ok(5));
        assert_eq!(board_threads(Some(5), Some(2), Some(&env)), Ok(2));
        assert_eq!(board_threads(None, Some(6), None), Ok(6));
    }

    #[test]
    fn counts_the_workloads_refuse_are_clamped_and_a_missing_one_is_an_error() {
        let env = json!({ "cpu": { "cores_online": 4096 } });
        assert_eq!(board_threads(None, None, Some(&env)), Ok(1024));
        let env = json!({ "cpu": { "cores_online": 0 } });
        assert_eq!(board_threads(None, None, Some(&env)), Ok(1));
        let err = board_threads(None, None, Some(&json!({ "cpu": {} }))).unwrap_err();
        assert!(err.contains("--threads"), "{err}");
        assert!(board_threads(None, None, None).is_err());
    }
}
