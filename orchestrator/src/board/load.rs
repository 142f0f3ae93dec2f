//! Reading and validating profile files.
//!
//! A profile is read in two steps. Each file of the `extends` chain is first
//! parsed on its own against [`RawProfile`], so an unknown or mistyped field
//! is reported in the file and line where it is written. The chain is then
//! merged (later files override earlier ones field by field) and the result
//! checked as a whole; a bad value is reported where it was set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::profile::{
    BoardProfile, ContainerSpec, Emulation, HostKeyPolicy, ProviderSpec, SshKeys, SshSettings,
    Timeouts, Transport, VmSpec,
};
use super::raw::{Merged, RawProfile, Sourced};
use crate::platform;

/// A profile that cannot be used. Its `Display` is one line naming the
/// file, the line and the field where it applies.
#[derive(Debug)]
pub struct BoardError(pub String);

impl std::fmt::Display for BoardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BoardError {}

/// The files of one `extends` chain, root first.
pub(super) struct Chain {
    pub(super) paths: Vec<PathBuf>,
    pub(super) texts: Vec<String>,
}

impl Chain {
    /// `file:line` of a span in chain file `file`.
    fn at(&self, file: usize, span: &std::ops::Range<usize>) -> String {
        let text = &self.texts[file];
        let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
        format!("{}:{}", self.paths[file].display(), line)
    }

    pub(super) fn at_value<T>(&self, v: &Sourced<T>) -> String {
        self.at(v.file, &v.span)
    }

    pub(super) fn leaf(&self) -> &Path {
        self.paths.last().expect("a chain has at least one file")
    }
}

pub(super) fn err(msg: String) -> BoardError {
    BoardError(msg)
}

/// Loads board `name` from `boards_dir/NAME.toml`, resolving `extends`.
pub fn load(boards_dir: &Path, name: &str) -> Result<BoardProfile, BoardError> {
    let path = boards_dir.join(format!("{name}.toml"));
    if !path.is_file() {
        let known = board_names(boards_dir).unwrap_or_default();
        return Err(err(format!(
            "unknown board `{name}`: no {} (boards in {}: {})",
            path.display(),
            boards_dir.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    load_file(&path)
}

/// Loads every board profile in `boards_dir` (files named `_*.toml` are
/// bases for `extends`, not boards), sorted by name.
pub fn load_all(boards_dir: &Path) -> Result<Vec<BoardProfile>, BoardError> {
    board_names(boards_dir)?
        .iter()
        .map(|n| load(boards_dir, n))
        .collect()
}

/// Names of the boards (not the `_` bases) in `boards_dir`, sorted.
pub fn board_names(boards_dir: &Path) -> Result<Vec<String>, BoardError> {
    let entries = std::fs::read_dir(boards_dir).map_err(|e| {
        err(format!(
            "{}: cannot list board profiles: {e}",
            boards_dir.display()
        ))
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let p = e.path();
            let stem = p.file_stem()?.to_str()?.to_string();
            (p.extension()? == "toml" && !stem.starts_with('_')).then_some(stem)
        })
        .collect();
    names.sort();
    Ok(names)
}

/// Loads the profile in `path` (its board name is the file stem).
pub fn load_file(path: &Path) -> Result<BoardProfile, BoardError> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| err(format!("{}: not a profile file name", path.display())))?
        .to_string();
    if !valid_name(&name) {
        return Err(err(format!(
            "{}: board name `{name}` (the file name) must be lower-case letters, digits, '-', '_' or '.'",
            path.display()
        )));
    }
    let (chain, raws) = read_chain(path, None)?;
    let mut merged = Merged::default();
    for (i, raw) in raws.into_iter().enumerate() {
        merged.apply(raw, i);
    }
    resolve(name, &chain, merged)
}

/// A profile that is no file: `text` as if read from `path` (which names
/// it in errors), resolved with the profiles it extends, under `name`.
pub(super) fn load_text(name: &str, path: &Path, text: String) -> Result<BoardProfile, BoardError> {
    let (chain, raws) = read_chain(path, Some(text))?;
    let mut merged = Merged::default();
    for (i, raw) in raws.into_iter().enumerate() {
        merged.apply(raw, i);
    }
    resolve(name.to_string(), &chain, merged)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

/// Reads `leaf` (or takes its text, when given) and every profile it
/// extends, root first.
fn read_chain(
    leaf: &Path,
    mut leaf_text: Option<String>,
) -> Result<(Chain, Vec<RawProfile>), BoardError> {
    let mut paths = Vec::new();
    let mut texts = Vec::new();
    let mut raws = Vec::new();
    let mut next = Some(leaf.to_path_buf());
    while let Some(path) = next.take() {
        if paths.contains(&path) {
            let cycle: Vec<String> = paths
                .iter()
                .chain(std::iter::once(&path))
                .map(|p: &PathBuf| p.display().to_string())
                .collect();
            return Err(err(format!(
                "{}: `extends` forms a cycle: {}",
                leaf.display(),
                cycle.join(" -> ")
            )));
        }
        let text = match leaf_text.take() {
            Some(t) => t,
            None => std::fs::read_to_string(&path)
                .map_err(|e| err(format!("{}: cannot read: {e}", path.display())))?,
        };
        let raw: RawProfile = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .map(|l| format!(":{l}"))
                .unwrap_or_default();
            let msg = e.message().replace('\n', " ");
            // serde names the field of an unknown or missing one, not of a
            // wrongly typed value; the span says where that value is.
            let field = match e.span() {
                Some(span) if !msg.contains("field") => field_at(&text, span.start)
                    .map(|f| format!(" field `{f}`:"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            err(format!("{}{line}:{field} {}", path.display(), msg.trim()))
        })?;
        if let Some(parent) = &raw.extends {
            let parent_name = parent.get_ref();
            let dir = path.parent().unwrap_or(Path::new("."));
            let parent_path = dir.join(format!("{parent_name}.toml"));
            if !valid_name(parent_name) || !parent_path.is_file() {
                let line = text[..parent.span().start].matches('\n').count() + 1;
                return Err(err(format!(
                    "{}:{line}: field `extends`: no profile `{parent_name}` in {}",
                    path.display(),
                    dir.display()
                )));
            }
            next = Some(parent_path);
        }
        paths.push(path);
        texts.push(text);
        raws.push(raw);
    }
    paths.reverse();
    texts.reverse();
    raws.reverse();
    Ok((Chain { paths, texts }, raws))
}

/// The dotted name (`transport.port`) of the key whose value is at byte
/// `at` of profile text `text`: the key on that line, under the last
/// `[table]` header above it.
fn field_at(text: &str, at: usize) -> Option<String> {
    let at = at.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let (key, _) = text[line_start..line_end].split_once('=')?;
    let key = key.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && !l.starts_with("[["))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    })
}

/// Turns the merged chain into a checked profile.
fn resolve(name: String, chain: &Chain, m: Merged) -> Result<BoardProfile, BoardError> {
    let leaf = chain.leaf().display().to_string();
    let required = |field: &str| {
        let inherited = if chain.paths.len() > 1 {
            " (set neither here nor in the profiles it extends)"
        } else {
            ""
        };
        err(format!("{leaf}: missing field `{field}`{inherited}"))
    };

    let target = m.target.clone().ok_or_else(|| required("target"))?;
    if target.value != "host" && platform::target::target(&target.value).is_none() {
        return Err(err(format!(
            "{}: field `target`: unsupported target `{}` (supported: {})",
            chain.at_value(&target),
            target.value,
            platform::profile_target_names()
        )));
    }

    let cpu = m.cpu.clone().ok_or_else(|| required("cpu"))?;
    let cpu_isa = platform::cpu::lookup(&cpu.value).ok_or_else(|| {
        err(format!(
            "{}: field `cpu`: unknown CPU `{}` (known: {})",
            chain.at_value(&cpu),
            cpu.value,
            platform::cpu::names()
        ))
    })?;
    if !platform::cpu_runs(&cpu_isa, &target.value) {
        return Err(err(format!(
            "{}: field `cpu`: a {} cannot run target `{}`",
            chain.at_value(&cpu),
            cpu.value,
            target.value
        )));
    }

    let glibc = match &m.glibc {
        None => None,
        Some(g) => {
            let ok = g.value.split_once('.').is_some_and(|(a, b)| {
                a == "2" && !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit())
            });
            if !ok {
                return Err(err(format!(
                    "{}: field `glibc`: `{}` is not a glibc version like \"2.36\"",
                    chain.at_value(g),
                    g.value
                )));
            }
            Some(g.value.clone())
        }
    };

    let emulation = match &m.emulation {
        None if m.qemu_image.is_some() => Emulation::System,
        None if m.docker_image.is_some() => Emulation::User,
        None => Emulation::None,
        Some(e) => match e.value.as_str() {
            "none" => Emulation::None,
            "qemu-system" => Emulation::System,
            "qemu-user" => Emulation::User,
            other => {
                return Err(err(format!(
                    "{}: field `emulation`: `{other}` is not one of none, qemu-system, qemu-user",
                    chain.at_value(e)
                )))
            }
        },
    };

    if let (Some(q), Some(d)) = (&m.qemu_image, &m.docker_image) {
        return Err(err(format!(
            "{}: field `docker.image`: a board is either a VM ([qemu] at {}) or a container ([docker]), not both",
            chain.at_value(d),
            chain.at_value(q)
        )));
    }
    let transport = match (
        vm_spec(chain, &m, &leaf, emulation)?,
        container_spec(chain, &m, &leaf, emulation)?,
        super::labgrid::labgrid_spec(chain, &m, &leaf)?,
    ) {
        (Some(vm), _, _) => Transport::Provided(ProviderSpec::Qemu(vm)),
        (None, Some(container), _) => Transport::Provided(ProviderSpec::Docker(container)),
        (None, None, Some(place)) => Transport::Provided(ProviderSpec::Labgrid(place)),
        (None, None, None) => plain_transport(chain, &m, &leaf)?,
    };
    let work_dir = m.work_dir.clone().ok_or_else(|| required("work_dir"))?;
    let work_dir_value = match transport {
        // On this machine `~` can be expanded now; on a board it cannot.
        Transport::Local => expand_home(&work_dir.value).display().to_string(),
        Transport::Ssh(_) | Transport::Provided(_) => work_dir.value.clone(),
    };
    if !work_dir_value.starts_with('/') {
        return Err(err(format!(
            "{}: field `work_dir`: `{}` must be an absolute path{}",
            chain.at_value(&work_dir),
            work_dir.value,
            if matches!(transport, Transport::Local) {
                " (or start with ~/)"
            } else {
                " on the board"
            }
        )));
    }

    let mut allocators = BTreeMap::new();
    for (alloc, path) in &m.allocators {
        if alloc == "lwmalloc" || alloc == "system" {
            return Err(err(format!(
                "{}: allocators.{alloc}: `{alloc}` is built in and cannot be redefined",
                chain.at_value(path)
            )));
        }
        if !valid_name(alloc) {
            return Err(err(format!(
                "{}: allocators.{alloc}: names are lower-case letters, digits, '-' and '_'",
                chain.at_value(path)
            )));
        }
        if !path.value.starts_with('/') {
            return Err(err(format!(
                "{}: allocators.{alloc}: `{}` must be an absolute path on the board",
                chain.at_value(path),
                path.value
            )));
        }
        let resolved = path.value.replace("{multiarch}", &multiarch(&target.value));
        allocators.insert(alloc.clone(), resolved);
    }

    let workload_scale = match &m.workload_scale {
        None => 1.0,
        Some(x) if x.value > 0.0 && x.value.is_finite() => x.value,
        Some(x) => {
            return Err(err(format!(
                "{}: field `workload_scale`: `{}` must be a positive number like 0.05",
                chain.at_value(x),
                x.value
            )))
        }
    };

    let mut timeouts = Timeouts::default();
    for (field, value, slot) in [
        ("connect_s", &m.connect_s, &mut timeouts.connect),
        ("run_s", &m.run_s, &mut timeouts.run),
        ("board_s", &m.board_s, &mut timeouts.board),
    ] {
        if let Some(v) = value {
            if v.value == 0 {
                return Err(err(format!(
                    "{}: field `timeouts.{field}` must be at least 1 second",
                    chain.at_value(v)
                )));
            }
            *slot = Duration::from_secs(v.value);
        }
    }

    Ok(BoardProfile {
        name,
        description: m.description.unwrap_or_default(),
        file: chain.leaf().to_path_buf(),
        file_sha256: chain_sha256(chain),
        target: target.value,
        cpu: cpu.value,
        glibc,
        transport,
        work_dir: work_dir_value,
        allocators,
        emulation,
        workload_scale,
        timeouts,
    })
}

/// The transport of a board without `[qemu]`: `[transport]` as written.
fn plain_transport(chain: &Chain, m: &Merged, leaf: &str) -> Result<Transport, BoardError> {
    let required = |field: &str| {
        let inherited = if chain.paths.len() > 1 {
            " (set neither here nor in the profiles it extends)"
        } else {
            ""
        };
        err(format!("{leaf}: missing field `{field}`{inherited}"))
    };
    let kind = m.kind.clone().ok_or_else(|| required("transport.kind"))?;
    Ok(match kind.value.as_str() {
        "local" => {
            for (field, at) in [
                ("host", m.host.as_ref().map(|v| chain.at_value(v))),
                ("port", m.port.as_ref().map(|v| chain.at_value(v))),
                ("user", m.user.as_ref().map(|v| chain.at_value(v))),
                ("identity", m.identity.as_ref().map(|v| chain.at_value(v))),
                ("use_agent", m.use_agent.as_ref().map(|v| chain.at_value(v))),
                (
                    "known_hosts",
                    m.known_hosts.as_ref().map(|v| chain.at_value(v)),
                ),
                (
                    "host_key_policy",
                    m.host_key_policy.as_ref().map(|v| chain.at_value(v)),
                ),
            ] {
                if let Some(at) = at {
                    return Err(err(format!(
                        "{at}: field `transport.{field}` applies only to kind = \"ssh\" (this board's transport is local)"
                    )));
                }
            }
            Transport::Local
        }
        "ssh" => Transport::Ssh(ssh_settings(chain, m, leaf)?),
        other => {
            return Err(err(format!(
                "{}: field `transport.kind`: `{other}` is not one of local, ssh",
                chain.at_value(&kind)
            )))
        }
    })
}

/// `[qemu]`: the board is a VM whose SSH settings exist only once it runs.
fn vm_spec(
    chain: &Chain,
    m: &Merged,
    leaf: &str,
    emulation: Emulation,
) -> Result<Option<VmSpec>, BoardError> {
    let section = EmulatedSection {
        name: "qemu",
        reached_through: "its VM",
        emulation: Emulation::System,
        why: "",
        recipe: "images/NAME/recipe.sh",
        wait_field: "boot_s",
        default_wait_s: 300,
        image: m.qemu_image.as_ref(),
        wait: m.boot_s.as_ref(),
    };
    let Some((image, wait)) = emulated_section(chain, m, leaf, emulation, &section)? else {
        for (field, at) in [
            (
                "boot_stall_s",
                m.boot_stall_s.as_ref().map(|v| chain.at_value(v)),
            ),
            (
                "boot_tries",
                m.boot_tries.as_ref().map(|v| chain.at_value(v)),
            ),
            (
                "kernel_args",
                m.kernel_args.as_ref().map(|v| chain.at_value(v)),
            ),
        ] {
            if let Some(at) = at {
                return Err(err(format!(
                    "{at}: field `qemu.{field}` needs `qemu.image`"
                )));
            }
        }
        return Ok(None);
    };
    let boot_stall_s = match &m.boot_stall_s {
        None => DEFAULT_BOOT_STALL_S,
        Some(v) if (1..=86_400).contains(&v.value) => v.value,
        Some(v) => {
            return Err(err(format!(
                "{}: field `qemu.boot_stall_s`: {} must be 1 to 86400 seconds",
                chain.at_value(v),
                v.value
            )))
        }
    };
    let boot_tries = match &m.boot_tries {
        None => DEFAULT_BOOT_TRIES,
        Some(v) if (1..=10).contains(&v.value) => v.value,
        Some(v) => {
            return Err(err(format!(
                "{}: field `qemu.boot_tries`: {} must be 1 to 10",
                chain.at_value(v),
                v.value
            )))
        }
    };
    let kernel_args = match &m.kernel_args {
        None => None,
        Some(v) if v.value.contains(['\n', '\r', '\0']) => {
            return Err(err(format!(
                "{}: field `qemu.kernel_args`: one line of kernel parameters, please",
                chain.at_value(v)
            )))
        }
        Some(v) if v.value.trim().is_empty() => None,
        Some(v) => Some(v.value.trim().to_string()),
    };
    Ok(Some(VmSpec {
        image,
        boot_timeout: wait,
        boot_stall: Duration::from_secs(boot_stall_s),
        boot_tries,
        kernel_args,
        keepalive_s: m.keepalive_s.unwrap_or(15),
    }))
}

/// Boot watchdog defaults: a console silent this long before sshd answers
/// means a hung boot (a healthy emulated boot prints something every few
/// seconds, and reaches sshd in 3 to 40 s even on a busy 2-core host)...
pub const DEFAULT_BOOT_STALL_S: u64 = 90;
/// ...and this many boots are tried before the board fails.
pub const DEFAULT_BOOT_TRIES: u32 = 3;

/// `[docker]`: the board is a container run through qemu-user, whose SSH
/// settings exist only once it runs; its figures are qemu-user figures.
fn container_spec(
    chain: &Chain,
    m: &Merged,
    leaf: &str,
    emulation: Emulation,
) -> Result<Option<ContainerSpec>, BoardError> {
    let section = EmulatedSection {
        name: "docker",
        reached_through: "its container",
        emulation: Emulation::User,
        why: "runs through qemu-user, so it ",
        recipe: "docker/NAME/",
        wait_field: "start_s",
        default_wait_s: 120,
        image: m.docker_image.as_ref(),
        wait: m.start_s.as_ref(),
    };
    Ok(
        emulated_section(chain, m, leaf, emulation, &section)?.map(|(image, wait)| ContainerSpec {
            image,
            start_timeout: wait,
            keepalive_s: m.keepalive_s.unwrap_or(15),
        }),
    )
}

/// What `[qemu]` and `[docker]` differ in; both are checked alike.
struct EmulatedSection<'a> {
    /// Section name in the profile.
    name: &'static str,
    /// How lwm reaches such a board, for the `[transport]` refusal.
    reached_through: &'static str,
    /// The only `emulation` such a board can have, and why (may be empty).
    emulation: Emulation,
    why: &'static str,
    /// Where an image recipe of that name lives.
    recipe: &'static str,
    /// Field of the seconds until the board answers, and its default.
    wait_field: &'static str,
    default_wait_s: u64,
    image: Option<&'a Sourced<String>>,
    wait: Option<&'a Sourced<u64>>,
}

/// Checks an emulated board's section: `None` without one; else its image
/// name and how long to wait for it to answer. Such a board's SSH settings
/// exist only once it runs, so a `[transport]` section would be ignored:
/// it is refused instead.
fn emulated_section(
    chain: &Chain,
    m: &Merged,
    leaf: &str,
    emulation: Emulation,
    s: &EmulatedSection,
) -> Result<Option<(String, Duration)>, BoardError> {
    let (name, wait_field) = (s.name, s.wait_field);
    let Some(image) = s.image else {
        if let Some(w) = s.wait {
            return Err(err(format!(
                "{}: field `{name}.{wait_field}` needs `{name}.image`",
                chain.at_value(w)
            )));
        }
        return Ok(None);
    };
    if let Some(file) = m.transport_at {
        return Err(err(format!(
            "{}: a [{name}] board is reached through {} (127.0.0.1, the image's keys): remove its [transport] section",
            chain.paths[file].display(),
            s.reached_through
        )));
    }
    if emulation != s.emulation {
        return Err(err(format!(
            "{}: field `emulation`: a [{name}] board {}is `{}`, not `{}`",
            m.emulation
                .as_ref()
                .map(|e| chain.at_value(e))
                .unwrap_or_else(|| leaf.to_string()),
            s.why,
            s.emulation.as_str(),
            emulation.as_str()
        )));
    }
    if !valid_name(&image.value) {
        return Err(err(format!(
            "{}: field `{name}.image`: `{}` is not an image recipe name ({})",
            chain.at_value(image),
            image.value,
            s.recipe
        )));
    }
    let wait_s = match s.wait {
        Some(w) if w.value == 0 => {
            return Err(err(format!(
                "{}: field `{name}.{wait_field}` must be at least 1 second",
                chain.at_value(w)
            )))
        }
        Some(w) => w.value,
        None => s.default_wait_s,
    };
    Ok(Some((image.value.clone(), Duration::from_secs(wait_s))))
}

fn ssh_settings(chain: &Chain, m: &Merged, leaf: &str) -> Result<SshSettings, BoardError> {
    let missing = |field: &str| {
        err(format!(
            "{leaf}: missing field `transport.{field}` (required for kind = \"ssh\")"
        ))
    };
    let host = m.host.clone().ok_or_else(|| missing("host"))?;
    if host.value.trim().is_empty() {
        return Err(err(format!(
            "{}: field `transport.host` is empty",
            chain.at_value(&host)
        )));
    }
    let user = m.user.clone().ok_or_else(|| missing("user"))?;
    let port = match &m.port {
        Some(p) if p.value == 0 => {
            return Err(err(format!(
                "{}: field `transport.port` must be 1-65535",
                chain.at_value(p)
            )))
        }
        Some(p) => p.value,
        None => 22,
    };
    let keys = ssh_keys(chain, m, leaf)?;
    Ok(keys.at(&host.value, port, &user.value))
}

/// How to log in and check the host key: `[transport]` less host, port
/// and user.
pub(super) fn ssh_keys(chain: &Chain, m: &Merged, leaf: &str) -> Result<SshKeys, BoardError> {
    let use_agent = m.use_agent.as_ref().is_some_and(|u| u.value);
    let identity = match (&m.identity, use_agent) {
        (Some(id), true) => {
            return Err(err(format!(
                "{}: field `transport.identity`: set either identity or use_agent = true, not both",
                chain.at_value(id)
            )))
        }
        (Some(id), false) => Some(path_in(chain, id)),
        (None, true) => None,
        (None, false) => {
            return Err(err(format!(
                "{leaf}: transport: set `identity = \"path/to/key\"` or `use_agent = true`"
            )))
        }
    };
    let known_hosts = match &m.known_hosts {
        Some(k) => path_in(chain, k),
        None => expand_home("~/.ssh/known_hosts"),
    };
    let host_key_policy = match &m.host_key_policy {
        None => HostKeyPolicy::Strict,
        Some(p) => match p.value.as_str() {
            "strict" => HostKeyPolicy::Strict,
            "accept-new" => HostKeyPolicy::AcceptNew,
            other => {
                return Err(err(format!(
                "{}: field `transport.host_key_policy`: `{other}` is not one of strict, accept-new",
                chain.at_value(p)
            )))
            }
        },
    };
    Ok(SshKeys {
        identity,
        known_hosts,
        host_key_policy,
        keepalive_s: m.keepalive_s.unwrap_or(15),
    })
}

/// Debian's multiarch directory name for a target (`{multiarch}` in
/// allocator paths), so one profile can name `/usr/lib/{multiarch}/...`.
/// On a host the target table does not know, Debian's usual spelling.
fn multiarch(target: &str) -> String {
    match platform::profile_target(target) {
        Some(t) => t.multiarch().to_string(),
        None => format!("{}-linux-gnu", std::env::consts::ARCH),
    }
}

/// A path on this machine written in a profile: `~/` is the home
/// directory, a relative path is relative to the file that wrote it.
fn path_in(chain: &Chain, v: &Sourced<String>) -> PathBuf {
    let expanded = expand_home(&v.value);
    if expanded.is_absolute() {
        expanded
    } else {
        chain.paths[v.file]
            .parent()
            .unwrap_or(Path::new("."))
            .join(expanded)
    }
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// SHA-256 over every file of the chain, root first, each preceded by its
/// length so that moving text between files changes the hash.
fn chain_sha256(chain: &Chain) -> String {
    let mut all = Vec::new();
    for t in &chain.texts {
        all.extend_from_slice(format!("{}\n", t.len()).as_bytes());
        all.extend_from_slice(t.as_bytes());
    }
    lwm_contract::sha256::sha256_hex(&all)
}
