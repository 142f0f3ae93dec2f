//! What the `./lwm` script installs before it runs a command: read from
//! the command line as `lwm` itself parses it and from the board profiles
//! as `lwm` loads them (`extends` chains, `--boards-dir`, every spelling
//! of the flags), instead of the script grepping TOML files.

use std::path::Path;

use crate::board::{self, ProviderSpec, PLACE_PREFIX};
use crate::cli::{Cli, Command, QualifyAction};

/// Something a command needs installed on this machine, each with the
/// setup script of the same name (`scripts/setup-NAME.sh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// Cross toolchains and Rust targets: a board other than this
    /// machine, or a target other than the host's.
    Cross,
    /// QEMU and the image tools: a `[qemu]` board.
    Qemu,
    /// A container engine: a `[docker]` board.
    Docker,
    /// The labgrid client: a `[labgrid]` board or `labgrid:PLACE`.
    Labgrid,
}

impl Need {
    /// The word the script reads, also its setup script's suffix.
    pub fn name(self) -> &'static str {
        match self {
            Need::Cross => "cross",
            Need::Qemu => "qemu",
            Need::Docker => "docker",
            Need::Labgrid => "labgrid",
        }
    }
}

/// The needs of `cli`, sorted and without repeats, in the order the
/// script installs them. A board whose profile does not load still needs
/// the cross toolchains (it is not this machine); the command itself then
/// reports what is wrong with it.
pub fn of(cli: &Cli, boards_dir: &Path, host_triple: &str) -> Vec<Need> {
    let (boards, targets) = named(cli);
    let mut needs = Vec::new();
    if targets.iter().any(|t| t != host_triple && t != "host") {
        needs.push(Need::Cross);
    }
    for name in boards {
        if name == "local" {
            continue;
        }
        needs.push(Need::Cross);
        if name.starts_with(PLACE_PREFIX) {
            needs.push(Need::Labgrid);
            continue;
        }
        match board::load(boards_dir, &name).map(|b| b.provider) {
            Ok(Some(ProviderSpec::Qemu(_))) => needs.push(Need::Qemu),
            Ok(Some(ProviderSpec::Docker(_))) => needs.push(Need::Docker),
            Ok(Some(ProviderSpec::Labgrid(_))) => needs.push(Need::Labgrid),
            Ok(None) | Err(_) => {}
        }
    }
    needs.sort();
    needs.dedup();
    needs
}

/// The boards and targets a command names.
fn named(cli: &Cli) -> (Vec<String>, Vec<String>) {
    match &cli.command {
        Command::Eval(a) => (a.boards.clone(), Vec::new()),
        Command::Build { targets, boards } => (boards.clone(), targets.clone()),
        Command::Qualify(q) => match q.action {
            Some(QualifyAction::Verify { .. }) => (Vec::new(), Vec::new()),
            None => (q.board.iter().cloned().collect(), Vec::new()),
        },
        Command::Compare { .. }
        | Command::Report { .. }
        | Command::Boards
        | Command::Needs { .. } => (Vec::new(), Vec::new()),
    }
}
