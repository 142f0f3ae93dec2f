//! What a report warns about: files in a run directory that do not fit its
//! layout, and figures that cannot show what they seem to. One variant per
//! kind; every format (report.json included) writes its sentence, so the
//! documents read as they did when warnings were plain strings.

use std::fmt;

use serde::{Serialize, Serializer};

/// One warning of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Warning {
    /// A run directory without `raw/`: the campaign recorded no run yet.
    NoRunsYet,
    /// A file under `raw/` that is neither a run, a failed run, nor a
    /// record `--resume` moved aside.
    UnexpectedFile { rel: String },
    /// A run document filed under one workload that ran another.
    WorkloadMismatch {
        rel: String,
        filed: String,
        ran: String,
    },
    /// A board with results under `raw/` that the manifest does not list.
    BoardNotInManifest { board: String },
    /// A median peak RSS within 10 % of the RSS the child starts from: the
    /// allocators cannot be told apart.
    AtMeasurementFloor {
        board: String,
        workload: String,
        allocator: String,
        median_kib: f64,
        floor_kib: u64,
    },
    /// Two runs of a workload with different checksums: they did not do
    /// the same work. `first` and `other` are (allocator, rep, checksum).
    ChecksumDiffers {
        board: String,
        workload: String,
        first: (String, u32, String),
        other: (String, u32, String),
    },
    /// A profile saying `emulation = "none"` for a board the agent found
    /// under qemu-user; `found` is what it saw, `profile` the file.
    UndeclaredEmulation {
        board: String,
        found: String,
        profile: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::NoRunsYet => write!(f, "raw/ does not exist yet: no runs recorded"),
            Warning::UnexpectedFile { rel } => write!(f, "{rel}: unexpected file, ignored"),
            Warning::WorkloadMismatch { rel, filed, ran } => write!(
                f,
                "{rel}: filed under workload {filed:?} but the agent ran workload {ran:?}"
            ),
            Warning::BoardNotInManifest { board } => {
                write!(f, "raw/{board}: board not in manifest.json")
            }
            Warning::AtMeasurementFloor {
                board,
                workload,
                allocator,
                median_kib,
                floor_kib,
            } => write!(
                f,
                "{board}/{workload}/{allocator}: median peak RSS {median_kib:.0} KiB is within 10 % of the measurement floor ({floor_kib} KiB, the RSS the child starts from)"
            ),
            Warning::ChecksumDiffers {
                board,
                workload,
                first: (a0, r0, c0),
                other: (a, r, c),
            } => write!(
                f,
                "{board}/{workload}: workload checksum differs ({a0} rep {r0}: {c0}, {a} rep {r}: {c}): the runs did not do the same work"
            ),
            Warning::UndeclaredEmulation {
                board,
                found,
                profile,
            } => write!(
                f,
                "board {board}: its profile says emulation \"none\", but the agent found {found}; its time and memory figures are the emulator's (set emulation = \"qemu-user\" in {profile})"
            ),
        }
    }
}

/// Written as its sentence: report.json's `warnings` stays a list of strings.
impl Serialize for Warning {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_is_written_as_its_sentence_in_json() {
        let w = Warning::ChecksumDiffers {
            board: "pi4".into(),
            workload: "larson".into(),
            first: ("system".into(), 0, "\"00ff\"".into()),
            other: ("lwmalloc".into(), 2, "\"0f0f\"".into()),
        };
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            serde_json::Value::String(
                "pi4/larson: workload checksum differs (system rep 0: \"00ff\", lwmalloc rep 2: \"0f0f\"): the runs did not do the same work".into()
            )
        );
        let floor = Warning::AtMeasurementFloor {
            board: "b".into(),
            workload: "w".into(),
            allocator: "a".into(),
            median_kib: 1024.4,
            floor_kib: 1000,
        };
        assert!(floor
            .to_string()
            .starts_with("b/w/a: median peak RSS 1024 KiB"));
    }
}
