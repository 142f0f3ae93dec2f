//! Warnings about figures that cannot show what they seem to: a peak RSS
//! at the measurement floor, allocators that did different work.

use super::super::load::Cell;
use super::super::warning::Warning;
use super::CellSummary;

/// A median peak RSS within 10 % of the measurement floor (the RSS the
/// child had at exec, which the kernel counts into its peak) cannot tell
/// allocators apart.
pub(super) fn floor_warning(
    board: &str,
    w: &str,
    a: &str,
    cell: &Cell,
    s: &CellSummary,
    warnings: &mut Vec<Warning>,
) {
    let floor = cell.samples.iter().filter_map(|s| s.agent_floor_kib).max();
    if let (Some(floor), Some(mem)) = (floor, &s.memory) {
        if mem.median <= floor as f64 * 1.1 {
            warnings.push(Warning::AtMeasurementFloor {
                board: board.into(),
                workload: w.into(),
                allocator: a.into(),
                median_kib: mem.median,
                floor_kib: floor,
            });
        }
    }
}

/// Every allocator must have done the same work: same workload checksum.
pub(super) fn checksum_warning<'a>(
    board: &str,
    w: &str,
    allocators: &[String],
    cell_of: &dyn Fn(&str, &str) -> &'a Cell,
    warnings: &mut Vec<Warning>,
) {
    // A timed workload does as much work as fits in its duration.
    if crate::limits::DURATION_WORKLOADS.contains(&w) {
        return;
    }
    let mut seen: Vec<(String, u32, &serde_json::Value)> = Vec::new();
    for a in allocators {
        for s in &cell_of(w, a).samples {
            if let Some(c) = &s.checksum {
                seen.push((a.clone(), s.rep, c));
            }
        }
    }
    if let Some((a0, r0, c0)) = seen.first() {
        if let Some((a, r, c)) = seen.iter().find(|(_, _, c)| c != c0) {
            warnings.push(Warning::ChecksumDiffers {
                board: board.into(),
                workload: w.into(),
                first: (a0.clone(), *r0, c0.to_string()),
                other: (a.clone(), *r, c.to_string()),
            });
        }
    }
}
