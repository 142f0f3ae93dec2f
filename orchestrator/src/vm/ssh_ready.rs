//! Whether sshd in the guest answers. QEMU's user-mode network accepts a
//! connection on the forwarded port before the guest listens (and drops
//! it afterwards), so an accepted TCP connection proves nothing: only the
//! server's `SSH-` banner does.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

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
