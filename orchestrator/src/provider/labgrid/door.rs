//! What lwm checks before a campaign, for boards in a labgrid lab: the
//! coordinator answers, the place exists, nobody holds it, and it has one
//! NetworkService. `labgrid:PLACE` boards get their profile here, from the
//! place's tags.

use std::path::Path;

use crate::board::{self, BoardProfile, ProviderSpec, PLACE_PREFIX};

use super::client::Coordinator;
use super::error::ErrorKind;
use super::place::Place;

/// The environment variable labgrid's own tools read the coordinator from.
pub const COORDINATOR_ENV: &str = "LG_COORDINATOR";

/// The coordinator of boards that name none: `flag`
/// (`--labgrid-coordinator`), else `$LG_COORDINATOR`.
pub fn default_coordinator(flag: Option<&str>) -> Option<String> {
    flag.map(str::to_string).or_else(|| {
        std::env::var(COORDINATOR_ENV)
            .ok()
            .filter(|s| !s.trim().is_empty())
    })
}

/// Loads board `name` from `boards_dir`, or makes the profile of
/// `labgrid:PLACE` from the place's tags; a labgrid board is then checked
/// on its coordinator (`default` when its profile names none). Other boards
/// load as ever. Errors are one line naming the board (and its file).
pub fn load_board(
    boards_dir: &Path,
    name: &str,
    default: Option<&str>,
) -> anyhow::Result<BoardProfile> {
    let default = default_coordinator(default);
    if let Some(place) = name.strip_prefix(PLACE_PREFIX) {
        let b = place_board(boards_dir, name, place, default.as_deref())?;
        return Ok(b);
    }
    let mut b = board::load(boards_dir, name)?;
    if matches!(b.provider, Some(ProviderSpec::Labgrid(_))) {
        check_board(&mut b, default.as_deref())?;
    }
    Ok(b)
}

/// Board `name` as [`load_board`] gives it, but without asking for the
/// place to be free: for `lwm build`, which only needs the target and CPU
/// (a `labgrid:PLACE` board still reads its place's tags).
pub fn describe_board(
    boards_dir: &Path,
    name: &str,
    default: Option<&str>,
) -> anyhow::Result<BoardProfile> {
    let Some(place) = name.strip_prefix(PLACE_PREFIX) else {
        return Ok(board::load(boards_dir, name)?);
    };
    let who = format!("board {name}");
    let address = settle_coordinator(&who, default_coordinator(default).as_deref())?;
    let coordinator = Coordinator::new(&address).map_err(|e| anyhow::anyhow!("{who}: {e}"))?;
    let p = coordinator
        .show(place)
        .map_err(|e| anyhow::anyhow!("{who}: labgrid: {e}"))?;
    Ok(board::place_profile(boards_dir, place, &address, &p.tags)?)
}

/// `labgrid:PLACE`: the place's tags make the profile.
fn place_board(
    boards_dir: &Path,
    name: &str,
    place: &str,
    coordinator: Option<&str>,
) -> anyhow::Result<BoardProfile> {
    if !board::valid_place(place) {
        anyhow::bail!(
            "board {name}: `{place}` is not a place name lwm takes (letters, digits, '-', '_', '.'); for another, write a profile with [labgrid] place = \"...\""
        );
    }
    let address = settle_coordinator(&format!("board {name}"), coordinator)?;
    let p = free_place(&format!("board {name}"), &address, place)?;
    let mut b = board::place_profile(boards_dir, place, &address, &p.tags)?;
    check_board(&mut b, Some(&address))?;
    Ok(b)
}

/// Settles the coordinator of a `[labgrid]` board (its own, else
/// `default`) and checks its place is free; the place as it is.
pub fn check_board(board: &mut BoardProfile, default: Option<&str>) -> anyhow::Result<Place> {
    let who = who(board);
    let Some(ProviderSpec::Labgrid(spec)) = &mut board.provider else {
        anyhow::bail!("{who}: not a labgrid board");
    };
    if spec.coordinator.is_none() {
        spec.coordinator = Some(settle_coordinator(&who, default)?);
    }
    let address = spec.coordinator.clone().unwrap_or_default();
    free_place(&who, &address, &spec.place)
}

fn settle_coordinator(who: &str, coordinator: Option<&str>) -> anyhow::Result<String> {
    let Some(address) = coordinator else {
        anyhow::bail!(
            "{who}: no labgrid coordinator: give --labgrid-coordinator HOST[:PORT] or set {COORDINATOR_ENV}"
        );
    };
    board::check_coordinator(address)
        .map_err(|why| anyhow::anyhow!("{who}: labgrid coordinator: {why}"))?;
    Ok(address.to_string())
}

/// The place, which must exist, be free and have one NetworkService.
fn free_place(who: &str, address: &str, place: &str) -> anyhow::Result<Place> {
    let coordinator = Coordinator::new(address).map_err(|e| anyhow::anyhow!("{who}: {e}"))?;
    let p = coordinator.show(place).map_err(|e| match e.kind {
        ErrorKind::Held => anyhow::anyhow!(held_message(who, place, address, e.holder.as_deref())),
        _ => anyhow::anyhow!("{who}: labgrid: {e}"),
    })?;
    if let Some(holder) = &p.acquired {
        anyhow::bail!(held_message(who, place, address, Some(holder)));
    }
    p.network_service()
        .map_err(|e| anyhow::anyhow!("{who}: labgrid: {e}"))?;
    Ok(p)
}

/// `board NAME (FILE)`, or `board labgrid:PLACE` for a board without a file.
pub fn who(board: &BoardProfile) -> String {
    if board.name.starts_with(PLACE_PREFIX) {
        format!("board {}", board.name)
    } else {
        format!("board {} ({})", board.name, board.file.display())
    }
}

/// The refusal when someone holds the place.
pub fn held_message(who: &str, place: &str, address: &str, holder: Option<&str>) -> String {
    let holder = holder.unwrap_or("someone");
    format!(
        "{who}: labgrid place {place} on {address} is held by {holder}; lwm runs only on a place it acquires itself (when {holder} is done: labgrid-client -x {address} -p {place} release)"
    )
}
