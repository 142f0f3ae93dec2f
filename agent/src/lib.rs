//! lwm-agent: runs a workload or any program under a chosen allocator on a
//! board and measures it honestly (see README). The documents it writes are
//! the contract's (`lwm_contract::schema`, described in contract/SCHEMA.md),
//! re-exported here under their old paths so the agent's code and tests
//! name them as before; readers depend on lwm-contract, not on the agent.

pub mod cli;
pub mod doctor;
pub mod environment;
pub mod invocation;
pub mod launcher;
pub mod preload;
pub mod run;
pub mod rusage;
pub mod sampler;

pub use lwm_contract::{schema, sha256, stats};
pub use lwm_elf as elf;
