//! How a profile says the board is reached and what provides it:
//! `[transport]` (local, ssh) for a board that is simply there, or a
//! provider section (`[qemu]`, `[docker]`, `[labgrid]`) whose board is
//! reached over SSH once it runs.

use std::time::Duration;

use super::chain::{expand_home, path_in, Chain};
use super::load::{err, valid_name, BoardError};
use super::profile::{
    Access, ContainerSpec, Emulation, HostKeyPolicy, ProviderSpec, SshKeys, SshSettings, VmSpec,
};
use super::raw::{Merged, Sourced};

/// How the board is reached and what provides it: a provided board when a
/// provider section is set (at most one of `[qemu]` and `[docker]`),
/// reached over SSH at settings only its running board knows; else no
/// provider and `[transport]` as written.
pub(super) fn access(
    chain: &Chain,
    m: &Merged,
    emulation: Emulation,
) -> Result<(Access, Option<ProviderSpec>), BoardError> {
    let leaf = chain.leaf().display().to_string();
    if let (Some(q), Some(d)) = (&m.qemu_image, &m.docker_image) {
        return Err(err(format!(
            "{}: field `docker.image`: a board is either a VM ([qemu] at {}) or a container ([docker]), not both",
            chain.at_value(d),
            chain.at_value(q)
        )));
    }
    let provider = match (
        vm_spec(chain, m, &leaf, emulation)?,
        container_spec(chain, m, &leaf, emulation)?,
        super::labgrid::labgrid_spec(chain, m, &leaf)?,
    ) {
        (Some(vm), _, _) => ProviderSpec::Qemu(vm),
        (None, Some(container), _) => ProviderSpec::Docker(container),
        (None, None, Some(place)) => ProviderSpec::Labgrid(place),
        (None, None, None) => return Ok((plain_access(chain, m, &leaf)?, None)),
    };
    Ok((Access::Ssh(None), Some(provider)))
}

/// How a board no provider starts is reached: `[transport]` as written.
fn plain_access(chain: &Chain, m: &Merged, leaf: &str) -> Result<Access, BoardError> {
    let kind = m
        .kind
        .clone()
        .ok_or_else(|| chain.missing("transport.kind"))?;
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
            Access::Local
        }
        "ssh" => Access::Ssh(Some(ssh_settings(chain, m, leaf)?)),
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

/// `[transport]` of kind = "ssh".
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
