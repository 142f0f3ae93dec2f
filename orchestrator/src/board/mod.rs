//! Board profiles: `boards/*.toml`, with `extends` inheritance.

mod load;
mod profile;
mod raw;

pub use load::{board_names, load, load_all, load_file, BoardError, SUPPORTED_TARGETS};
pub use profile::{
    BoardProfile, ContainerSpec, Emulation, HostKeyPolicy, SshSettings, Timeouts, Transport, VmSpec,
};
