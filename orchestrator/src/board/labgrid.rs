//! Boards in a labgrid lab: the `[labgrid]` table of a profile, and the
//! profile of `--board labgrid:PLACE`, made from the place's tags.

use std::collections::BTreeMap;
use std::path::Path;

use super::chain::Chain;
use super::load::{err, load_text, BoardError};
use super::profile::{BoardProfile, LabgridSpec};
use super::raw::Merged;
use super::reach::ssh_keys;

/// Board names of the form `labgrid:PLACE` need no profile file.
pub const PLACE_PREFIX: &str = "labgrid:";

/// The base profile a `labgrid:PLACE` board extends when `boards/` has it:
/// work_dir and `[transport]` keys shared by the places of a lab.
pub const PLACE_BASE: &str = "_labgrid";

/// Place tags a `labgrid:PLACE` board reads: required, then optional.
pub const TAG_TARGET: &str = "lwm_target";
pub const TAG_CPU: &str = "lwm_cpu";
pub const TAG_GLIBC: &str = "lwm_glibc";
pub const TAG_WORK_DIR: &str = "lwm_work_dir";

/// Whether `name` is a place name lwm accepts: letters, digits, `-`, `_`
/// and `.` (it becomes part of file names in the run directory).
pub fn valid_place(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Checks a coordinator address, `HOST` or `HOST:PORT` (`[v6]:PORT`), as
/// labgrid's `-x` takes it; the reason when it is not one.
pub fn check_coordinator(addr: &str) -> Result<(), String> {
    if addr.is_empty() {
        return Err("the coordinator address is empty".into());
    }
    if addr.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("`{addr}` is not HOST[:PORT] (it has spaces)"));
    }
    let port = match addr.rsplit_once(':') {
        // A bare IPv6 address has colons but no port.
        Some((host, port)) if !host.contains(':') || host.ends_with(']') => Some(port),
        _ => None,
    };
    if let Some(p) = port {
        if !matches!(p.parse::<u16>(), Ok(n) if n > 0) {
            return Err(format!("`{addr}`: port `{p}` is not 1-65535"));
        }
    }
    Ok(())
}

/// `[labgrid]` of a merged profile: `None` without the table. Such a board
/// is reached over SSH, so `[transport]` may set kind = "ssh" and the keys,
/// never host, port or user (the place's NetworkService gives them).
pub(super) fn labgrid_spec(
    chain: &Chain,
    m: &Merged,
    leaf: &str,
) -> Result<Option<LabgridSpec>, BoardError> {
    let Some(place) = &m.labgrid_place else {
        if let Some(c) = &m.labgrid_coordinator {
            return Err(err(format!(
                "{}: field `labgrid.coordinator` needs `labgrid.place`",
                chain.at_value(c)
            )));
        }
        return Ok(None);
    };
    if let Some(other) = m.qemu_image.as_ref().or(m.docker_image.as_ref()) {
        return Err(err(format!(
            "{}: a board is either a labgrid place ([labgrid] at {}) or an emulated board ([qemu], [docker]), not both",
            chain.at_value(other),
            chain.at_value(place)
        )));
    }
    if !valid_place(&place.value) {
        return Err(err(format!(
            "{}: field `labgrid.place`: `{}` is not a place name lwm takes (letters, digits, '-', '_', '.')",
            chain.at_value(place),
            place.value
        )));
    }
    let coordinator = match &m.labgrid_coordinator {
        None => None,
        Some(c) => {
            check_coordinator(&c.value).map_err(|why| {
                err(format!(
                    "{}: field `labgrid.coordinator`: {why}",
                    chain.at_value(c)
                ))
            })?;
            Some(c.value.clone())
        }
    };
    if let Some(kind) = &m.kind {
        if kind.value != "ssh" {
            return Err(err(format!(
                "{}: field `transport.kind`: a [labgrid] board is reached over SSH (kind = \"ssh\" or none), not `{}`",
                chain.at_value(kind),
                kind.value
            )));
        }
    }
    for (field, at) in [
        ("host", m.host.as_ref().map(|v| chain.at_value(v))),
        ("port", m.port.as_ref().map(|v| chain.at_value(v))),
        ("user", m.user.as_ref().map(|v| chain.at_value(v))),
    ] {
        if let Some(at) = at {
            return Err(err(format!(
                "{at}: field `transport.{field}`: a [labgrid] board's host, port and user come from its place's NetworkService: remove it"
            )));
        }
    }
    Ok(Some(LabgridSpec {
        coordinator,
        place: place.value.clone(),
        ssh: ssh_keys(chain, m, leaf)?,
    }))
}

/// The profile of `--board labgrid:PLACE`: `boards_dir/_labgrid.toml` (when
/// there) with target, CPU, glibc and work_dir from the place's tags
/// (`lwm_target`, `lwm_cpu`, `lwm_glibc`, `lwm_work_dir`) and the place on
/// `coordinator`. Errors are one line naming the board and the tag.
pub fn place_profile(
    boards_dir: &Path,
    place: &str,
    coordinator: &str,
    tags: &BTreeMap<String, String>,
) -> Result<BoardProfile, BoardError> {
    let name = format!("{PLACE_PREFIX}{place}");
    let missing = |tag: &str| {
        err(format!(
            "board {name}: place {place} on {coordinator} has no tag `{tag}` (set it with: labgrid-client -x {coordinator} -p {place} set-tags {TAG_TARGET}=TRIPLE {TAG_CPU}=CPU)"
        ))
    };
    let target = tags.get(TAG_TARGET).ok_or_else(|| missing(TAG_TARGET))?;
    let cpu = tags.get(TAG_CPU).ok_or_else(|| missing(TAG_CPU))?;
    let mut doc = toml::Table::new();
    if boards_dir.join(format!("{PLACE_BASE}.toml")).is_file() {
        doc.insert("extends".into(), PLACE_BASE.into());
    }
    doc.insert(
        "description".into(),
        format!("labgrid place {place} on {coordinator}").into(),
    );
    doc.insert("target".into(), target.as_str().into());
    doc.insert("cpu".into(), cpu.as_str().into());
    if let Some(g) = tags.get(TAG_GLIBC) {
        doc.insert("glibc".into(), g.as_str().into());
    }
    if let Some(w) = tags.get(TAG_WORK_DIR) {
        doc.insert("work_dir".into(), w.as_str().into());
    }
    let mut table = toml::Table::new();
    table.insert("coordinator".into(), coordinator.into());
    table.insert("place".into(), place.into());
    doc.insert("labgrid".into(), table.into());
    // Errors name `boards/labgrid:PLACE (tags of place PLACE)`: its values
    // are the tags.
    let path = boards_dir.join(format!("{name} (tags of place {place})"));
    load_text(&name, &path, doc.to_string())
}
