//! Helpers shared by the end-to-end test files.

use lwm_agent::schema::RunDocument;
use std::process::{Command, Output};

pub const AGENT: &str = env!("CARGO_BIN_EXE_lwm-agent");

pub fn agent(args: &[&str]) -> Output {
    Command::new(AGENT)
        .args(args)
        .env_remove("LD_PRELOAD")
        .output()
        .expect("run lwm-agent")
}

/// Parse a run document, and check it round-trips through the schema types
/// byte for byte (the agent prints it pretty).
pub fn doc(out: &Output) -> RunDocument {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let d: RunDocument =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not a run document: {e}\n{text}"));
    assert_eq!(
        serde_json::to_string_pretty(&d).unwrap(),
        text.trim_end(),
        "document does not re-serialise identically"
    );
    d
}
