//! Starting an emulated board (a QEMU VM, a container) or acquiring a
//! labgrid place before the session opens; dropping what is returned stops
//! the board (releases the place).

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::rundir::Event;

use super::record::say;
use super::BoardJob;

/// An emulated board while it runs, or a labgrid place while it is held;
/// dropping it stops the board (releases the place).
pub(super) enum Emulated {
    Vm(crate::vm::VmBoard),
    #[expect(dead_code, reason = "never read: dropping the value stops the board")]
    Container(crate::container::ContainerBoard),
    #[expect(
        dead_code,
        reason = "never read: dropping the value releases the place"
    )]
    Labgrid(crate::labgrid::Lease),
}

impl Emulated {
    /// Why the board itself is gone, if it is: a VM whose QEMU exited.
    /// Waits up to `grace` for QEMU to be gone (a dropped connection may be
    /// seen a moment before its exit can be collected).
    pub(super) fn gone(&mut self, grace: Duration) -> Option<String> {
        let Emulated::Vm(vm) = self else {
            return None;
        };
        let status = vm.vm.exited_within(grace)?;
        let why = match status.code() {
            Some(0) => format!(
                "QEMU exited ({status}): the guest rebooted or powered off (QEMU runs with -no-reboot)"
            ),
            _ => format!("QEMU ended ({status})"),
        };
        Some(format!(
            "{why}; console: {}",
            crate::vm::console_tail(vm.vm.console(), 3)
        ))
    }
}

/// Starts the emulated board of a `[qemu]` or `[docker]` board (building
/// its image when missing) and points `job.board` at it, so everything
/// after, reconnects included, treats it as an ordinary SSH board. Other
/// boards: nothing to do.
pub(super) fn start_emulated(job: &mut BoardJob) -> Result<Option<Emulated>, String> {
    if let crate::board::Transport::Labgrid(_) = &job.board.transport {
        return acquire_place(job).map(|lease| Some(Emulated::Labgrid(lease)));
    }
    let kind = match &job.board.transport {
        crate::board::Transport::Vm(_) => "vm",
        crate::board::Transport::Container(_) => "container",
        _ => return Ok(None),
    };
    let state = crate::rundir::provider_dir(job.store.dir(), &job.board.name, kind);
    let progress = job.progress.clone();
    let progress = |m: &str| progress.set_message(m.to_string());
    if let crate::board::Transport::Container(spec) = &job.board.transport {
        let image = spec.image.clone();
        let c = crate::container::ContainerBoard::start(
            &job.board,
            &job.workspace,
            &state,
            &progress,
            &job.cancel,
        )
        .map_err(|e| format!("{e:#}"))?;
        job.store.record(&Event::ContainerStarted {
            board: job.board.name.clone(),
            image,
            container: c.container.name().into(),
            port: c.container.port(),
            start_s: c.container.started_in().as_secs_f64(),
        });
        job.board = c.board.clone();
        return Ok(Some(Emulated::Container(c)));
    }
    let crate::board::Transport::Vm(spec) = &job.board.transport else {
        return Ok(None);
    };
    let image = spec.image.clone();
    let name = job.board.name.clone();
    // Each boot try the watchdog gave up on: an event, a line for the
    // user and an incident of the board (in the manifest and the reports).
    let on_stall = |s: &crate::vm::StalledBoot| {
        let note = format!(
            "boot try {} of {}: no console output for {} s before sshd answered, QEMU killed{}; console's last lines: {}",
            s.attempt,
            s.tries,
            s.silent.as_secs(),
            if s.attempt < s.tries { " and started again" } else { "" },
            s.console_tail
        );
        job.store.record(&Event::VmBootStalled {
            board: name.clone(),
            image: image.clone(),
            attempt: s.attempt,
            tries: s.tries,
            silent_s: s.silent.as_secs_f64(),
            console_tail: s.console_tail.clone(),
            console_log: s.console_log.display().to_string(),
        });
        say(&job.progress, format!("board {name}: {note}"));
        let _ = job.store.update_board(&name, |b| b.incidents.push(note));
    };
    let vm = crate::vm::VmBoard::start(
        &job.board,
        &job.workspace,
        &state,
        &progress,
        &on_stall,
        &job.cancel,
    )
    .map_err(|e| format!("{e:#}"))?;
    job.store.record(&Event::VmBooted {
        board: job.board.name.clone(),
        image,
        port: vm.vm.port(),
        boot_s: vm.vm.booted_in().as_secs_f64(),
        tries: vm.vm.tries(),
    });
    job.board = vm.board.clone();
    Ok(Some(Emulated::Vm(vm)))
}

/// Acquires the labgrid place of a `[labgrid]` board and points
/// `job.board` at its NetworkService over SSH. The place is released when
/// the lease is dropped; both ends are events of the run.
fn acquire_place(job: &mut BoardJob) -> Result<crate::labgrid::Lease, String> {
    if job.cancel.load(Ordering::SeqCst) {
        return Err(format!("board {}: interrupted", job.board.name));
    }
    job.progress.set_message("acquiring labgrid place");
    let mut lease = crate::labgrid::Lease::acquire(&job.board)?;
    let (name, place) = (job.board.name.clone(), lease.place().to_string());
    let address = match &lease.board.transport {
        crate::board::Transport::Ssh(s) => format!("{}@{}:{}", s.user, s.host, s.port),
        _ => String::new(),
    };
    job.store.record(&Event::LabgridAcquired {
        board: name.clone(),
        place: place.clone(),
        network_service: lease.network_service.clone(),
        ssh: address,
    });
    let store = job.store.clone();
    lease.on_release(Box::new(move |result| match result {
        Ok(()) => store.record(&Event::LabgridReleased {
            board: name.clone(),
            place: place.clone(),
        }),
        Err(e) => {
            store.record(&Event::LabgridReleaseFailed {
                board: name.clone(),
                place: place.clone(),
                error: e.clone(),
            });
            let _ = store.update_board(&name, |b| b.incidents.push(e.clone()));
        }
    }));
    job.board = lease.board.clone();
    Ok(lease)
}
