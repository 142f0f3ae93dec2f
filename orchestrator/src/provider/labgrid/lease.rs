//! A place acquired for one board's campaign: acquired when the board's
//! session starts, released when the lease is dropped (the campaign ended,
//! the board failed, or Ctrl-C unwound the session).

use std::sync::atomic::Ordering;

use crate::rundir::Event;

use crate::board::{BoardProfile, LabgridSpec, ProviderSpec, SshSettings};
use crate::provider::{BoardProvider, Note, RunningBoard, StartEnv};

use super::client::Coordinator;
use super::door::{held_message, who};
use super::error::ErrorKind;

/// Told how the release went: `Ok(())` or the one-line reason.
pub type OnRelease = Box<dyn Fn(&Result<(), String>) + Send>;

/// A place this lwm holds. Dropping it releases the place.
pub struct Lease {
    /// Plain SSH to the place's NetworkService (address, port, username)
    /// with the profile's keys.
    pub ssh: SshSettings,
    /// `EXPORTER/GROUP/NetworkService/NAME` lwm logs in to.
    pub network_service: String,
    coordinator: Coordinator,
    place: String,
    board_name: String,
    on_release: Option<OnRelease>,
    released: bool,
}

impl Lease {
    /// Acquires the place of a `[labgrid]` board (its coordinator already
    /// settled: see [`super::door::check_board`]). Errors are one line
    /// naming the board and the place (and who holds it).
    pub fn acquire(board: &BoardProfile) -> Result<Lease, String> {
        let Some(ProviderSpec::Labgrid(spec)) = &board.provider else {
            return Err(format!("board {}: not a labgrid board", board.name));
        };
        let LabgridSpec {
            coordinator, place, ..
        } = spec;
        let who = who(board);
        let Some(address) = coordinator else {
            return Err(format!("{who}: no labgrid coordinator settled"));
        };
        let coordinator = Coordinator::new(address).map_err(|e| format!("{who}: {e}"))?;
        let acquired = coordinator.acquire(place).map_err(|e| match e.kind {
            ErrorKind::Held => held_message(&who, place, address, e.holder.as_deref()),
            _ => format!("{who}: labgrid: {e}"),
        })?;
        let mut lease = Lease {
            // No address until the NetworkService is read below; the lease
            // is returned only with it.
            ssh: spec.ssh.at("", 0, ""),
            network_service: String::new(),
            coordinator,
            place: place.clone(),
            board_name: board.name.clone(),
            on_release: None,
            released: false,
        };
        // From here on, an error drops `lease`, which releases the place.
        let ns = acquired
            .network_service()
            .map_err(|e| format!("{who}: labgrid: {e}"))?;
        lease.network_service = ns.path.clone();
        lease.ssh = spec.ssh.at(&ns.address, ns.port, &ns.username);
        Ok(lease)
    }

    /// The place's name.
    pub fn place(&self) -> &str {
        &self.place
    }

    /// Called once the place is released (or failed to be).
    pub fn on_release(&mut self, f: OnRelease) {
        self.on_release = Some(f);
    }

    /// Releases the place now; a second call does nothing.
    pub fn release(&mut self) -> Result<(), String> {
        if self.released {
            return Ok(());
        }
        self.released = true;
        let result = self.coordinator.release(&self.place).map(|_| ()).map_err(|e| {
            format!(
                "board {}: labgrid place {} not released: {e} (release it with: labgrid-client -x {} -p {} release)",
                self.board_name, self.place, self.coordinator.address, self.place
            )
        });
        if let Some(f) = &self.on_release {
            f(&result);
        }
        result
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Err(e) = self.release() {
            eprintln!("lwm: {e}");
        }
    }
}

impl RunningBoard for Lease {
    fn ssh(&self) -> SshSettings {
        self.ssh.clone()
    }
}

impl BoardProvider for LabgridSpec {
    fn kind(&self) -> &'static str {
        "labgrid"
    }

    fn describe(&self) -> String {
        format!(
            "labgrid place {} on {}",
            self.place,
            self.coordinator.as_deref().unwrap_or("$LG_COORDINATOR")
        )
    }

    fn not_started(&self) -> String {
        format!(
            "labgrid place {} must be acquired before connecting",
            self.place
        )
    }

    /// Acquires the place and reaches its NetworkService over SSH. The
    /// place is released when the lease is dropped; both ends are notes.
    fn start(
        &self,
        board: &BoardProfile,
        env: &StartEnv<'_>,
    ) -> Result<Box<dyn RunningBoard>, String> {
        if env.cancel.load(Ordering::SeqCst) {
            return Err(format!("board {}: interrupted", board.name));
        }
        (env.progress)("acquiring labgrid place");
        let mut lease = Lease::acquire(board)?;
        let (name, place) = (board.name.clone(), lease.place().to_string());
        let s = &lease.ssh;
        (env.notes)(Note::event(Event::LabgridAcquired {
            board: name.clone(),
            place: place.clone(),
            network_service: lease.network_service.clone(),
            ssh: format!("{}@{}:{}", s.user, s.host, s.port),
        }));
        let notes = env.notes.clone();
        lease.on_release(Box::new(move |result| match result {
            Ok(()) => notes(Note::event(Event::LabgridReleased {
                board: name.clone(),
                place: place.clone(),
            })),
            Err(e) => notes(Note {
                event: Event::LabgridReleaseFailed {
                    board: name.clone(),
                    place: place.clone(),
                    error: e.clone(),
                },
                say: None,
                incident: Some(e.clone()),
            }),
        }));
        Ok(Box::new(lease))
    }
}
