//! Reaching a provided board's sshd on a loopback port: picking the port,
//! the known_hosts file that holds the image's host key, whether sshd
//! answers yet, and the SSH settings that reach it once it does.
//!
//! QEMU's user-mode network and docker-proxy accept a connection on the
//! forwarded port before the guest listens (and drop it afterwards), so an
//! accepted TCP connection proves nothing: only the server's `SSH-` banner
//! does.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::board::{HostKeyPolicy, SshSettings};

/// True if something on `addr` sends an SSH banner within `wait`.
pub fn answers(addr: SocketAddr, wait: Duration) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, wait) else {
        return false;
    };
    if stream.set_read_timeout(Some(wait)).is_err() {
        return false;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < 4 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got.starts_with(b"SSH-")
}

/// A port on 127.0.0.1 that was free a moment ago (QEMU or docker binds
/// it next; a lost race shows in their output and is retried).
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("no free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Writes `path` as a known_hosts file naming `[127.0.0.1]:port` with
/// `host_key` (`type base64`) alone.
pub(crate) fn write_known_hosts(path: &Path, port: u16, host_key: &str) -> anyhow::Result<()> {
    std::fs::write(path, format!("[127.0.0.1]:{port} {host_key}\n"))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The settings that reach a provided board's sshd on `127.0.0.1:port`
/// as root with the kit's `user_key`, its host key checked strictly
/// against `known_hosts`.
pub(crate) fn loopback_root(
    port: u16,
    user_key: &Path,
    known_hosts: &Path,
    keepalive_s: u32,
) -> SshSettings {
    SshSettings {
        host: "127.0.0.1".into(),
        port,
        user: "root".into(),
        identity: Some(PathBuf::from(user_key)),
        known_hosts: known_hosts.to_path_buf(),
        host_key_policy: HostKeyPolicy::Strict,
        keepalive_s,
    }
}
