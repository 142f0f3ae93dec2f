//! Board profiles: `boards/*.toml`, with `extends` inheritance.

mod load;
mod profile;
mod raw;

pub use load::{
    board_names, load, load_all, load_file, BoardError, DEFAULT_BOOT_STALL_S, DEFAULT_BOOT_TRIES,
    SUPPORTED_TARGETS,
};
pub use profile::{
    BoardProfile, ContainerSpec, Emulation, HostKeyPolicy, SshSettings, Timeouts, Transport, VmSpec,
};
