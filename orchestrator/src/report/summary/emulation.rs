//! What an emulated board's figures are worth, and what the agent found
//! out about emulation by itself.

/// The words every report puts on the memory figures of a board whose
/// memory is not its own (see [`BoardSummary::memory_representative`]).
pub const MEMORY_NOT_REPRESENTATIVE: &str = "not representative";

/// Whether a board with this emulation measures its programs' own memory:
/// real hardware and QEMU system VMs do; qemu-user (and anything unknown)
/// does not.
pub fn memory_representative(emulation: &str) -> bool {
    matches!(emulation, "none" | "qemu-system")
}

/// What the agent found out by itself about emulation on a board, from
/// the environment it reported: `Some((user_mode, what))` when it saw
/// qemu-user or a virtual machine, with its evidence.
pub fn detected_emulation(b: &crate::manifest::BoardEntry) -> Option<(bool, String)> {
    let e = b.agent_emulation()?;
    let evidence = e.evidence.join("; ");
    if e.user_mode {
        Some((true, format!("qemu-user emulation ({evidence})")))
    } else {
        e.virtual_machine
            .map(|vm| (false, format!("virtual machine {vm} ({evidence})")))
    }
}

/// A warning for a board whose profile says `emulation = "none"` while the
/// agent found itself under qemu-user: its figures are the emulator's, and
/// the report would otherwise present them as real hardware's. (A virtual
/// machine is only shown in the board's facts: under KVM its figures are
/// close to the hardware's.)
pub(super) fn undeclared_emulation(
    b: &crate::manifest::BoardEntry,
) -> Option<super::super::warning::Warning> {
    match detected_emulation(b)? {
        (true, found) if b.emulation == "none" => {
            Some(super::super::warning::Warning::UndeclaredEmulation {
                board: b.name.clone(),
                found,
                profile: b.file.to_string(),
            })
        }
        _ => None,
    }
}

/// The plain note shown with an emulated board's figures.
pub fn emulation_note(emulation: &str) -> Option<String> {
    match emulation {
        "none" => None,
        "qemu-system" => {
            Some("times are emulation times, compare allocators only within this board".into())
        }
        "qemu-user" => Some("memory and time not representative (qemu-user)".into()),
        other => Some(format!(
            "emulation {other:?}: figures may not be representative"
        )),
    }
}
