//! Boards in a labgrid lab (<https://labgrid.readthedocs.io>).
//!
//! A board is a labgrid place when its profile has `[labgrid] place = ...`
//! ([`ProviderSpec::Labgrid`](crate::board::ProviderSpec::Labgrid)) or when it is
//! named `labgrid:PLACE` (its profile then comes from the place's tags,
//! [`crate::board::place_profile`]).
//!
//! Before a campaign, [`load_board`] checks each such board on its
//! coordinator: it answers, the place exists, nobody holds it, and the
//! place has exactly one NetworkService resource; a refusal is one line
//! naming the board, the place and who holds it. When the board's session
//! starts, [`Lease::acquire`] acquires the place and points the board at
//! the NetworkService (address, port, username) over SSH with the
//! profile's key and known_hosts, the host key checked as for any SSH
//! board. Dropping the [`Lease`] releases the place: after the campaign,
//! after a failure, after Ctrl-C.
//!
//! lwm talks to the coordinator through labgrid's own client library:
//! `helper.py`, run with the Python of the venv scripts/setup-labgrid.sh
//! makes (or `$LWM_LABGRID_PYTHON`). It has labgrid's identity, `HOST/USER`
//! (`LG_HOSTNAME`, `LG_USERNAME`), and looks places up by exact name.

mod client;
mod door;
mod error;
mod lease;
mod place;

pub use client::{find_python, setup_venv_python, Coordinator, PYTHON_ENV};
pub use door::{check_board, default_coordinator, describe_board, load_board, COORDINATOR_ENV};
pub use error::{ErrorKind, LabgridError};
pub use lease::{Lease, OnRelease};
pub use place::{NetworkService, Place};
