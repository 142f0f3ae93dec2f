//! The footprint table: stripped sizes of the pushed artifacts per target.

use super::Artifacts;

/// The 20 KB budget of the stripped liblwmalloc.so on ARMv6 and aarch64.
pub const LIBLWMALLOC_BUDGET_BYTES: u64 = 20 * 1024;

/// Whether `target` is held to [`LIBLWMALLOC_BUDGET_BYTES`]: the ARMv6
/// (both float ABIs) and aarch64 builds the issue names; x86_64 is held to
/// it by the allocator's own footprint test.
pub fn budget_applies(target: &str) -> bool {
    target.starts_with("arm-") || target.starts_with("aarch64-") || target.starts_with("x86_64-")
}

/// A Markdown table, one row per target, sizes in bytes with thousands
/// separators and KiB; liblwmalloc.so over budget is marked.
pub fn table(builds: &[Artifacts]) -> String {
    let mut out = String::from(
        "| target | liblwmalloc.so | lwm-agent | lwm-workload |\n\
         | --- | ---: | ---: | ---: |\n",
    );
    for a in builds {
        let f = &a.footprint;
        let mut lib = size(f.liblwmalloc_bytes);
        if budget_applies(&a.target) && f.liblwmalloc_bytes > LIBLWMALLOC_BUDGET_BYTES {
            lib.push_str(" (over the 20 KB budget)");
        }
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            a.target,
            lib,
            size(f.agent_bytes),
            size(f.workload_bytes)
        ));
    }
    out
}

/// `18,000 B (17.6 KiB)`.
fn size(bytes: u64) -> String {
    let digits = bytes.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped} B ({:.1} KiB)", bytes as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::Footprint;
    use std::path::PathBuf;

    fn artifacts(target: &str, lib: u64) -> Artifacts {
        Artifacts {
            target: target.into(),
            liblwmalloc: PathBuf::from("l"),
            agent: PathBuf::from("a"),
            workload: PathBuf::from("w"),
            footprint: Footprint {
                liblwmalloc_bytes: lib,
                agent_bytes: 1_234_567,
                workload_bytes: 999,
            },
        }
    }

    #[test]
    fn rows_group_digits_and_mark_an_over_budget_library() {
        let t = table(&[
            artifacts("aarch64-unknown-linux-gnu", 19_696),
            artifacts("arm-unknown-linux-gnueabihf", 20_481),
            artifacts("armv7-unknown-linux-gnueabihf", 30_000),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 5, "{t}");
        assert_eq!(
            lines[2],
            "| `aarch64-unknown-linux-gnu` | 19,696 B (19.2 KiB) | 1,234,567 B (1205.6 KiB) | 999 B (1.0 KiB) |"
        );
        assert!(
            lines[3].contains("20,481 B (20.0 KiB) (over the 20 KB budget)"),
            "{t}"
        );
        assert!(!lines[4].contains("over"), "armv7 has no budget: {t}");
    }
}
