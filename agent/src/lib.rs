//! lwm-agent: runs a workload or any program under a chosen allocator on a
//! board and measures it honestly (see README and SCHEMA.md). The library
//! target exposes the schema types so that other tools (an orchestrator)
//! read the documents with the very types that wrote them.

pub mod cli;
pub mod doctor;
pub mod elf;
pub mod environment;
pub mod invocation;
pub mod launcher;
pub mod preload;
pub mod run;
pub mod rusage;
pub mod sampler;
pub mod schema;
pub mod sha256;
pub mod stats;
