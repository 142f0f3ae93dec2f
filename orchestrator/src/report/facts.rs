//! The manifest's facts as label/value rows, shared by the Markdown and
//! HTML reports: which commit, toolchain, settings, board files and
//! artifacts produced the numbers (the "which build made this number?"
//! question every result must answer).

use super::format;
use super::Summary;
use crate::manifest::{BoardEntry, Settings};

/// Run-level facts, in display order.
pub fn run_facts(s: &Summary) -> Vec<(&'static str, String)> {
    let m = &s.manifest;
    let st = &m.settings;
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "unknown".into());
    vec![
        ("run id", m.run_id.clone()),
        (
            "project commit",
            match m.project_dirty {
                Some(true) => format!("{} (uncommitted changes)", opt(&m.project_commit)),
                _ => opt(&m.project_commit),
            },
        ),
        ("rustc", opt(&m.toolchain.rustc)),
        ("cargo", opt(&m.toolchain.cargo)),
        ("build flags", m.toolchain.build_flags.join(" ")),
        ("started", format::utc(m.started_unix_ms)),
        (
            "ended",
            m.ended_unix_ms
                .map(format::utc)
                .unwrap_or_else(|| "not finished".into()),
        ),
        (
            "resumed",
            if m.resumed_unix_ms.is_empty() {
                "never".into()
            } else {
                m.resumed_unix_ms
                    .iter()
                    .map(|t| format::utc(*t))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
        ("workloads", st.workloads.join(", ")),
        ("allocators", st.allocators.join(", ")),
        (
            "repetitions",
            match st.target_ci {
                Some(t) => format!(
                    "{} to {}, until the 95 % CI half-width is within {} of the median; {} warm-up",
                    st.reps,
                    st.max_reps,
                    format::percent(t),
                    st.warmup
                ),
                None => format!("{} measured, {} warm-up", st.reps, st.warmup),
            },
        ),
        (
            "workload parameters",
            format!(
                "scale {}, threads {}, seed {}",
                st.scale,
                match st.threads {
                    Some(t) => t.to_string(),
                    None => "each board's CPU count".into(),
                },
                st.seed
            ),
        ),
        ("noise threshold", format::percent(st.noise_threshold)),
    ]
}

/// One board's facts.
pub fn board_facts(b: &BoardEntry, settings: &Settings) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("description", b.description.clone()),
        ("profile file", b.file.clone()),
        ("profile SHA-256", b.file_sha256.clone()),
        ("target", b.target.clone()),
        ("cpu", b.cpu.clone()),
        ("emulation", b.emulation.clone()),
        ("status", b.status.clone()),
        ("workload threads", threads_fact(b, settings)),
    ];
    if b.workload_scale != 1.0 {
        rows.push((
            "workload scale",
            format!(
                "{} of the campaign's scale (the profile's workload_scale)",
                b.workload_scale
            ),
        ));
    }
    if let Some(e) = &b.error {
        rows.push(("error", e.clone()));
    }
    for i in &b.incidents {
        rows.push(("incident", i.clone()));
    }
    for (name, path) in &b.allocators {
        rows.push((
            "allocator",
            format!(
                "{name}: {}",
                path.as_deref().unwrap_or("(C library, no preload)")
            ),
        ));
    }
    if let Some(release) = b.agent_kernel_release() {
        rows.push(("kernel", release));
    }
    if let Some(model) = b.agent_cpu_model() {
        rows.push(("cpu model", model.unwrap_or_default()));
    }
    if let Some((_, what)) = super::summary::detected_emulation(b) {
        rows.push(("agent detected", what));
    }
    rows
}

/// The thread count of a board's workloads and where it came from.
fn threads_fact(b: &BoardEntry, settings: &Settings) -> String {
    match (b.threads_used(settings), settings.threads) {
        (Some(t), Some(_)) => format!("{t} (--threads)"),
        (Some(t), None) => format!("{t} (the board's CPU count)"),
        (None, _) => "not known (the board was never checked)".into(),
    }
}

/// One artifact as `[name, sha256, size, board path, gate]`.
pub fn artifact_row(a: &crate::manifest::ArtifactEntry) -> [String; 5] {
    [
        a.name.clone(),
        a.sha256.clone(),
        format!("{} B", a.size_bytes),
        a.board_path.clone(),
        a.gate
            .as_ref()
            .map(|g| {
                let glibc = g
                    .newest_glibc
                    .as_deref()
                    .map(|v| format!(", needs GLIBC_{v}"))
                    .unwrap_or_default();
                format!("{}{glibc}", g.isa)
            })
            .unwrap_or_else(|| "not checked".into()),
    ]
}

pub const ARTIFACT_HEADER: [&str; 5] = [
    "artifact",
    "SHA-256",
    "size",
    "path on board",
    "instruction-set gate",
];
