//! Board providers: what starts a board for a campaign and stops it after.
//!
//! A profile says how the board is reached
//! ([`access`](crate::board::BoardProfile::access): `local`, `ssh`) and,
//! beside it, what provides it, if anything
//! ([`provider`](crate::board::BoardProfile::provider)): `[qemu]`,
//! `[docker]` or `[labgrid]` give the section's [`ProviderSpec`], and the
//! board is reached over SSH at settings it has only once it runs
//! ([`Access::Ssh(None)`](crate::board::Access::Ssh) until then). Each
//! spec is a [`BoardProvider`]; its [`start`](BoardProvider::start)
//! returns a [`RunningBoard`] that yields the SSH settings reaching it
//! (which complete the profile's access) and stops the board (QEMU
//! killed, the container removed, the place released) when dropped: after
//! the campaign, after a failure, after Ctrl-C unwinds the session.
//!
//! - `qemu/`: a QEMU system VM booted from a cached image;
//! - `docker/`: a foreign-architecture container (qemu-user via binfmt);
//! - `labgrid/`: a place on a labgrid coordinator;
//! - `image.rs`: building images from recipes, cached by recipe hash;
//! - `supervised.rs`: the helper processes (QEMU, `docker run`) lwm owns;
//! - `ssh_ready.rs`: the loopback port, known_hosts and sshd's banner.
//!
//! Adding a kind of board: a variant of [`ProviderSpec`] and its section
//! in the profile loader, a folder here implementing [`BoardProvider`],
//! one arm in [`ProviderSpec::provider`], and what it needs installed in
//! `needs.rs`.

pub mod docker;
pub(crate) mod image;
pub mod labgrid;
pub mod qemu;
pub(crate) mod ssh_ready;
pub(crate) mod supervised;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crate::board::{BoardProfile, ProviderSpec, SshSettings};

/// Something that happened while a board started, ran or stopped, for the
/// run's record: an event, and maybe a line for the user and an incident
/// of the board (in the manifest and the reports).
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// The event for events.jsonl (the board's name among its fields).
    pub event: crate::rundir::Event,
    /// A line shown to the user, if any.
    pub say: Option<String>,
    /// A line kept among the board's incidents, if any.
    pub incident: Option<String>,
}

impl Note {
    /// An event alone.
    pub fn event(event: crate::rundir::Event) -> Note {
        Note {
            event,
            say: None,
            incident: None,
        }
    }
}

/// Where [`Note`]s go. Kept by a running board to report its stop.
pub type Notes = Arc<dyn Fn(Note) + Send + Sync>;

/// What a provider is given to start a board.
pub struct StartEnv<'a> {
    /// Workspace root: images are built from its recipes.
    pub workspace: &'a Path,
    /// The board's own directory for logs, known_hosts and build output
    /// (`boards/NAME/KIND` in the run directory); created when needed.
    pub state_dir: &'a Path,
    /// Set on Ctrl-C: an image build or a boot in progress stops.
    pub cancel: &'a AtomicBool,
    /// Short phase messages (`image NAME`, `booting VM`).
    pub progress: &'a dyn Fn(&str),
    /// The record of what happened.
    pub notes: Notes,
}

/// A kind of board that is started for the campaign.
pub trait BoardProvider {
    /// The kind's short name, also the folder of its state under
    /// `boards/NAME/`: `vm`, `container`, `labgrid`.
    fn kind(&self) -> &'static str;
    /// What provides the board, for `lwm boards`.
    fn describe(&self) -> String;
    /// Why the board cannot be connected to before it is started.
    fn not_started(&self) -> String;
    /// Starts `board` (building what it needs first) and returns once it
    /// answers over SSH. Errors are one line naming the board.
    fn start(
        &self,
        board: &BoardProfile,
        env: &StartEnv<'_>,
    ) -> Result<Box<dyn RunningBoard>, String>;
}

/// A board a provider started. Dropping it stops the board.
pub trait RunningBoard: Send {
    /// The SSH settings that reach the board while it runs.
    fn ssh(&self) -> SshSettings;
    /// Why the board itself is gone, if it is (a VM whose QEMU exited),
    /// waiting up to `grace` to tell (a dropped connection may be seen a
    /// moment before the process's exit can be collected).
    fn gone(&mut self, grace: Duration) -> Option<String> {
        let _ = grace;
        None
    }
}

impl ProviderSpec {
    /// The provider of this kind of board.
    pub fn provider(&self) -> &dyn BoardProvider {
        match self {
            ProviderSpec::Qemu(spec) => spec,
            ProviderSpec::Docker(spec) => spec,
            ProviderSpec::Labgrid(spec) => spec,
        }
    }
}
