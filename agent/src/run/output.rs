//! The child's stdout and stderr: a thread per pipe keeps the tail, hashes
//! the whole stream and picks out the lines worth keeping whole.

use crate::preload;
use crate::schema::OutputTail;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::sync::mpsc;

/// What a pipe reader thread collected.
pub(super) struct Capture {
    tail: Vec<u8>,
    total: u64,
    /// Hash of the whole stream, not only the tail: lwm compares a user
    /// command's output across allocators.
    sha256: crate::sha256::Sha256,
    /// Lines worth keeping whole whatever the tail size: the allocator's
    /// counter line and the dynamic loader's errors.
    pub(super) special: Vec<String>,
}

pub(super) fn read_pipe(
    mut pipe: impl Read,
    keep: usize,
    forward: bool,
    tx: mpsc::Sender<Capture>,
) {
    let mut c = Capture {
        tail: Vec::new(),
        total: 0,
        sha256: crate::sha256::Sha256::new(),
        special: Vec::new(),
    };
    let mut line = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let chunk = &buf[..n];
        if forward {
            let _ = std::io::stderr().write_all(chunk);
        }
        c.total += n as u64;
        c.sha256.update(chunk);
        c.tail.extend_from_slice(chunk);
        if c.tail.len() > keep.saturating_mul(2).max(8192) {
            let cut = c.tail.len() - keep;
            c.tail.drain(..cut);
        }
        for &b in chunk {
            if b == b'\n' {
                let l = String::from_utf8_lossy(&line).into_owned();
                if (l.starts_with("lwmalloc: pid=") || preload::is_loader_error(&l))
                    && c.special.len() < 64
                {
                    c.special.push(l);
                }
                line.clear();
            } else if line.len() < 4096 {
                line.push(b);
            }
        }
    }
    if !line.is_empty() {
        let l = String::from_utf8_lossy(&line).into_owned();
        if l.starts_with("lwmalloc: pid=") || preload::is_loader_error(&l) {
            c.special.push(l);
        }
    }
    if c.tail.len() > keep {
        let cut = c.tail.len() - keep;
        c.tail.drain(..cut);
    }
    let _ = tx.send(c);
}

pub(super) fn tail_of(c: &Option<Capture>) -> OutputTail {
    match c {
        Some(c) => OutputTail {
            total_bytes: c.total,
            truncated: c.total > c.tail.len() as u64,
            tail: String::from_utf8_lossy(&c.tail).into_owned(),
            sha256: Some(c.sha256.clone().finish_hex()),
        },
        None => OutputTail {
            total_bytes: 0,
            truncated: false,
            tail: String::new(),
            sha256: None,
        },
    }
}

/// A pipe for one of the child's output streams: (read end, write end),
/// both close-on-exec (the child gets the write end by dup2).
pub(super) fn output_pipe() -> std::io::Result<(std::fs::File, OwnedFd)> {
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    Ok((std::fs::File::from(read), write))
}
