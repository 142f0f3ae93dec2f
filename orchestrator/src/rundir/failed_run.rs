//! `raw/BOARD/WORKLOAD/ALLOCATOR/KIND-NNN.failed.json`: a run that left no
//! agent document, as the campaign writes it and the report reads it.

use serde::{Deserialize, Serialize};

pub const FAILED_RUN_SCHEMA: &str = "lwm.failed-run";
pub const FAILED_RUN_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedRunRecord {
    pub schema: String,
    pub schema_version: u32,
    pub board: String,
    pub workload: String,
    pub allocator: String,
    /// `warmup` or `rep` (`RunKind::prefix`).
    #[serde(default)]
    pub kind: String,
    pub rep: u32,
    /// One line: why the run left no document.
    pub error: String,
    /// The last 4 KiB of the agent's stdout and stderr.
    #[serde(default)]
    pub stdout_tail: String,
    #[serde(default)]
    pub stderr_tail: String,
}

impl FailedRunRecord {
    /// The file's text: pretty JSON, keys in alphabetical order (as the
    /// campaign has always written it).
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(&serde_json::to_value(self)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_as_before_and_read_back() {
        let r = FailedRunRecord {
            schema: FAILED_RUN_SCHEMA.into(),
            schema_version: FAILED_RUN_VERSION,
            board: "b".into(),
            workload: "w".into(),
            allocator: "a".into(),
            kind: "rep".into(),
            rep: 3,
            error: "timed out".into(),
            stdout_tail: "out".into(),
            stderr_tail: "err".into(),
        };
        // What the campaign wrote before this type existed.
        let before = serde_json::json!({
            "schema": "lwm.failed-run",
            "schema_version": 1,
            "board": "b",
            "workload": "w",
            "allocator": "a",
            "kind": "rep",
            "rep": 3,
            "error": "timed out",
            "stdout_tail": "out",
            "stderr_tail": "err",
        });
        let text = r.to_json().unwrap();
        assert_eq!(text, serde_json::to_string_pretty(&before).unwrap());
        assert_eq!(serde_json::from_str::<FailedRunRecord>(&text).unwrap(), r);
    }
}
