//! What `lwm-agent` (on the board) and `lwm` (on the host) agree on: the
//! documents the agent writes and the host reads back (`schema`, described
//! field by field in SCHEMA.md), and the rules that define figures in them
//! which the host recomputes: the outlier rule of `summary.metrics`
//! (`stats`) and the digest of the `sha256` fields (`sha256`); and the
//! agent's command line, which the host writes and the agent reads
//! (`request`).
//!
//! Both sides depend on this crate and nothing else of each other, so the
//! host is not built against the agent's code and the agent, cross-built
//! for a Pi Zero, carries no host code. Dependencies: serde, and lexopt
//! (no dependencies of its own) for reading the command line.

pub mod request;
pub mod schema;
pub mod sha256;
pub mod stats;
mod wire;
