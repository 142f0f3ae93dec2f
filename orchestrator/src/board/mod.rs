//! Board profiles: `boards/*.toml`, with `extends` inheritance.

mod chain;
mod labgrid;
mod load;
mod profile;
mod raw;
mod reach;
mod resolve;

pub use labgrid::{
    check_coordinator, place_profile, valid_place, PLACE_BASE, PLACE_PREFIX, TAG_CPU, TAG_GLIBC,
    TAG_TARGET, TAG_WORK_DIR,
};
pub use load::{board_names, load, load_all, load_file, BoardError};
pub use profile::{
    Access, BoardProfile, ContainerSpec, Emulation, HostKeyPolicy, LabgridSpec, ProviderSpec,
    SshKeys, SshSettings, Timeouts, VmSpec,
};
pub use reach::{DEFAULT_BOOT_STALL_S, DEFAULT_BOOT_TRIES};
