//! Reading `manifest.json` and checking it, for every reader of a run
//! directory (`--resume`, the reports, `lwm compare`, qualification): one
//! set of one-line errors, each naming the file.

use std::path::Path;

use anyhow::{anyhow, bail, Result};

use crate::manifest::{
    readable_versions_text, Manifest, MANIFEST_SCHEMA, READABLE_MANIFEST_VERSIONS,
};

/// Reads and checks `run_dir/manifest.json`: its schema and version, the
/// boards' thread counts and the settings' numbers.
pub fn read_manifest(run_dir: &Path) -> Result<Manifest> {
    let path = super::manifest_path(run_dir);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        anyhow!(
            "{}: cannot read (not a run directory?): {e}",
            path.display()
        )
    })?;
    let m: Manifest = serde_json::from_str(&text)
        .map_err(|e| anyhow!("{}:{}: not a valid manifest: {e}", path.display(), e.line()))?;
    if m.schema != MANIFEST_SCHEMA {
        bail!(
            "{}: schema is {:?}, expected {:?}",
            path.display(),
            m.schema,
            MANIFEST_SCHEMA
        );
    }
    if !READABLE_MANIFEST_VERSIONS.contains(&m.schema_version) {
        bail!(
            "{}: schema_version {} is not supported (this lwm reads {})",
            path.display(),
            m.schema_version,
            readable_versions_text()
        );
    }
    crate::limits::check_board_threads(&m.boards)
        .map_err(|why| anyhow!("{}: {why}", path.display()))?;
    crate::limits::check_numbers(&m.settings)
        .map_err(|b| anyhow!("{}: settings.{}: {}", path.display(), b.field, b.why))?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::read_manifest;

    fn error_for(name: &str, text: Option<&str>) -> String {
        let dir = std::env::temp_dir().join(format!("lwm-rundir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if let Some(t) = text {
            std::fs::write(dir.join("manifest.json"), t).unwrap();
        }
        let e = format!("{:#}", read_manifest(&dir).unwrap_err());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(e.contains("manifest.json") && !e.contains('\n'), "{e}");
        e
    }

    #[test]
    fn each_failure_is_one_line_naming_the_file() {
        assert!(error_for("missing", None).contains(": cannot read (not a run directory?): "));
        let v = valid();
        for (name, text, expected) in [
            (
                "json",
                "{\"schema\": \"lwm.manifest\",\n \"oops\": 1}".to_string(),
                "manifest.json:2: not a valid manifest: ",
            ),
            (
                "schema",
                v.replace("lwm.manifest", "lwm.other"),
                ": schema is \"lwm.other\", expected \"lwm.manifest\"",
            ),
            (
                "version",
                v.replace("\"schema_version\":5", "\"schema_version\":99"),
                ": schema_version 99 is not supported (this lwm reads v1, ",
            ),
        ] {
            let e = error_for(name, Some(&text));
            assert!(e.contains(expected), "{name}: {e}");
        }
    }

    /// A manifest that reads, compact.
    fn valid() -> String {
        serde_json::json!({
            "schema": "lwm.manifest", "schema_version": 5, "run_id": "r",
            "project_commit": null, "project_dirty": null,
            "toolchain": { "rustc": null, "cargo": null, "build_flags": [] },
            "settings": { "workloads": [], "allocators": ["system", "lwmalloc"], "warmup": 0,
                          "reps": 1, "target_ci": null, "max_reps": 1, "scale": 1.0,
                          "threads": null, "seed": 1, "noise_threshold": 0.02 },
            "boards": [], "started_unix_ms": 0, "ended_unix_ms": null, "resumed_unix_ms": [],
        })
        .to_string()
    }

    #[test]
    fn a_valid_manifest_reads() {
        let dir = std::env::temp_dir().join(format!("lwm-rundir-valid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("manifest.json"), valid()).unwrap();
        let m = read_manifest(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(m.unwrap().run_id, "r");
    }
}
