//! Board profiles: `boards/*.toml`, with `extends` inheritance.

mod load;
mod profile;

pub use load::{load, load_all, BoardError};
pub use profile::{BoardProfile, Emulation, HostKeyPolicy, SshSettings, Timeouts, Transport};
