//! The TCP connection under an SSH session.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Connects to the first address of `host` that answers within `timeout`
/// (each address gets the full timeout). The error lists every attempt.
pub fn connect_tcp(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, String> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    let mut failures = Vec::new();
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(stream) => {
                // Commands and their replies are small: send them at once.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => failures.push(format!("{addr}: {e}")),
        }
    }
    Err(format!(
        "TCP connect failed (timeout {:.1} s): {}",
        timeout.as_secs_f64(),
        failures.join("; ")
    ))
}
