//! The wire format between the agent and its launcher process, on a Unix
//! stream socket pair. Both ends are the same binary on the same machine,
//! so integers travel in native byte order.
//!
//! One child at a time, in a fixed order:
//!
//! ```text
//! agent:    SPAWN header (+ stdout, stderr write ends by SCM_RIGHTS) + payload
//! launcher: SPAWNED {pid, floor_kib} | SPAWN_FAILED {stage, errno}
//! launcher: EXITED {monotonic ns}            (the child exited; not reaped)
//! agent:    REAP header
//! launcher: REAPED {status, rusage}          (wait4 reaped it)
//! ```
//!
//! Nothing here allocates: the launcher side runs in a forked copy of the
//! agent whose resident set must stay minimal.

use std::io;
use std::os::fd::RawFd;

pub const OP_SPAWN: u32 = 1;
pub const OP_REAP: u32 = 2;

/// The largest payload (cwd, argv and environment strings) the launcher
/// accepts; Linux's own limit for argv + envp is far below it.
pub const MAX_PAYLOAD: u64 = 16 << 20;

pub const HEADER_LEN: usize = 32;

/// A request. The payload that follows a SPAWN header is `cwd`, then
/// `argc` argument strings, then `envc` `KEY=VALUE` strings, each ended by
/// a NUL byte; `argv[0]` is the path executed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Header {
    pub op: u32,
    pub limit_as: Option<u64>,
    pub argc: u32,
    pub envc: u32,
    pub payload_len: u64,
}

impl Header {
    pub fn reap() -> Header {
        Header {
            op: OP_REAP,
            limit_as: None,
            argc: 0,
            envc: 0,
            payload_len: 0,
        }
    }

    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&self.op.to_ne_bytes());
        b[4..8].copy_from_slice(&(self.limit_as.is_some() as u32).to_ne_bytes());
        b[8..16].copy_from_slice(&self.limit_as.unwrap_or(0).to_ne_bytes());
        b[16..20].copy_from_slice(&self.argc.to_ne_bytes());
        b[20..24].copy_from_slice(&self.envc.to_ne_bytes());
        b[24..32].copy_from_slice(&self.payload_len.to_ne_bytes());
        b
    }

    pub fn decode(b: &[u8; HEADER_LEN]) -> Header {
        let u32_at = |i: usize| u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i..i + 8]);
            u64::from_ne_bytes(w)
        };
        Header {
            op: u32_at(0),
            limit_as: (u32_at(4) != 0).then(|| u64_at(8)),
            argc: u32_at(16),
            envc: u32_at(20),
            payload_len: u64_at(24),
        }
    }
}

/// A reply: a kind and up to 11 values, all i64 (see the REPLY_* kinds).
pub type Reply = [i64; REPLY_WORDS];
pub const REPLY_WORDS: usize = 12;
pub const REPLY_LEN: usize = REPLY_WORDS * 8;

/// `[SPAWNED, pid, floor_kib or -1]`
pub const REPLY_SPAWNED: i64 = 1;
/// `[SPAWN_FAILED, stage, errno]`
pub const REPLY_SPAWN_FAILED: i64 = 2;
/// `[EXITED, CLOCK_MONOTONIC seconds, nanoseconds]`
pub const REPLY_EXITED: i64 = 3;
/// `[REAPED, wait status, utime s, utime µs, stime s, stime µs, maxrss KiB,
/// minflt, majflt, nvcsw, nivcsw]`
pub const REPLY_REAPED: i64 = 4;
/// `[FAILED, errno]`: waiting for or reaping the child failed.
pub const REPLY_FAILED: i64 = 5;

/// Where starting a child failed (the `stage` of REPLY_SPAWN_FAILED).
pub const STAGE_REQUEST: i64 = 1;
pub const STAGE_PIPE: i64 = 2;
pub const STAGE_FORK: i64 = 3;
pub const STAGE_SETPGID: i64 = 4;
pub const STAGE_STDIO: i64 = 5;
pub const STAGE_CHDIR: i64 = 6;
pub const STAGE_RLIMIT: i64 = 7;
pub const STAGE_EXEC: i64 = 8;
pub const STAGE_DIED: i64 = 9;

/// What a stage was doing, for the run's problem line.
pub fn stage_name(stage: i64) -> &'static str {
    match stage {
        STAGE_REQUEST => "the launcher rejected the request",
        STAGE_PIPE => "pipe",
        STAGE_FORK => "fork",
        STAGE_SETPGID => "setpgid",
        STAGE_STDIO => "redirecting stdin, stdout and stderr",
        STAGE_CHDIR => "chdir",
        STAGE_RLIMIT => "setrlimit(RLIMIT_AS)",
        STAGE_EXEC => "execve",
        STAGE_DIED => "the child died before its exec",
        _ => "an unknown step",
    }
}

pub fn encode_reply(r: &Reply) -> [u8; REPLY_LEN] {
    let mut b = [0u8; REPLY_LEN];
    for (i, w) in r.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&w.to_ne_bytes());
    }
    b
}

pub fn decode_reply(b: &[u8; REPLY_LEN]) -> Reply {
    let mut r = [0i64; REPLY_WORDS];
    for (i, w) in r.iter_mut().enumerate() {
        let mut x = [0u8; 8];
        x.copy_from_slice(&b[i * 8..i * 8 + 8]);
        *w = i64::from_ne_bytes(x);
    }
    r
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Write all of `buf`, retrying on EINTR. MSG_NOSIGNAL: a closed peer is
/// an EPIPE error, not a SIGPIPE.
pub fn send_all(fd: RawFd, mut buf: &[u8]) -> Result<(), i32> {
    while !buf.is_empty() {
        // SAFETY: buf is a valid readable slice of buf.len() bytes.
        let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
        if n < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// Fill all of `buf`. Ok(false): the peer closed before the first byte.
/// EINTR is returned to the caller (the launcher checks whether the agent
/// is gone), except after the first byte, where the read resumes.
pub fn recv_all(fd: RawFd, buf: &mut [u8]) -> Result<bool, i32> {
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: the destination is the unfilled tail of buf.
        let n = unsafe { libc::read(fd, buf[got..].as_mut_ptr().cast(), buf.len() - got) };
        if n < 0 {
            let e = errno();
            if e == libc::EINTR && got > 0 {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return if got == 0 {
                Ok(false)
            } else {
                Err(libc::EPIPE)
            };
        }
        got += n as usize;
    }
    Ok(true)
}

/// Room for the control message carrying two descriptors (u64-aligned, as
/// cmsghdr needs).
type CmsgBuf = [u64; 8];

/// Send `buf` with `fds` attached (SCM_RIGHTS) to its first byte.
pub fn send_with_fds(fd: RawFd, buf: &[u8], fds: &[RawFd; 2]) -> Result<(), i32> {
    let mut cbuf: CmsgBuf = [0; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; zeroed is a valid empty header (musl
    // has padding fields, so it cannot be written as a literal).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    let data_len = std::mem::size_of_val(fds) as u32;
    // SAFETY: CMSG_SPACE is arithmetic on its argument.
    let space = unsafe { libc::CMSG_SPACE(data_len) } as usize;
    debug_assert!(space <= std::mem::size_of::<CmsgBuf>());
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: msg_control points at `space` writable, aligned bytes, so the
    // first header and its data (CMSG_LEN(data_len) <= space) lie inside.
    let sent = unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(data_len) as _;
        std::ptr::copy_nonoverlapping(
            fds.as_ptr().cast::<u8>(),
            libc::CMSG_DATA(c),
            data_len as usize,
        );
        loop {
            let n = libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL);
            if n >= 0 || errno() != libc::EINTR {
                break n;
            }
        }
    };
    if sent < 0 {
        return Err(errno());
    }
    send_all(fd, &buf[sent as usize..])
}

/// Receive exactly `buf.len()` bytes, collecting up to two descriptors sent
/// with them into `fds` (marked close-on-exec). Returns Ok(None) if the
/// peer closed first, else the number of descriptors received. EINTR
/// before the first byte is returned as an error, as in recv_all.
pub fn recv_with_fds(
    fd: RawFd,
    buf: &mut [u8],
    fds: &mut [RawFd; 2],
) -> Result<Option<usize>, i32> {
    let mut cbuf: CmsgBuf = [0; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: as in send_with_fds.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of::<CmsgBuf>() as _;
    // SAFETY: msg describes buf and cbuf, both valid for writing.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(errno());
    }
    if n == 0 {
        return Ok(None);
    }
    let mut count = 0;
    // SAFETY: the kernel filled msg_control/msg_controllen; the CMSG_*
    // walkers stay inside it, and SCM_RIGHTS data is an array of ints.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let bytes = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let data = libc::CMSG_DATA(c).cast::<RawFd>();
                for i in 0..bytes / std::mem::size_of::<RawFd>() {
                    let got = std::ptr::read_unaligned(data.add(i));
                    if count < fds.len() {
                        fds[count] = got;
                        count += 1;
                    } else {
                        libc::close(got);
                    }
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    let n = n as usize;
    if n < buf.len() && !recv_all(fd, &mut buf[n..])? {
        return Err(libc::EPIPE);
    }
    Ok(Some(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_replies_round_trip() {
        let h = Header {
            op: OP_SPAWN,
            limit_as: Some(64 << 20),
            argc: 3,
            envc: 40,
            payload_len: 12345,
        };
        assert_eq!(Header::decode(&h.encode()), h);
        assert_eq!(Header::decode(&Header::reap().encode()), Header::reap());
        let mut r = [0i64; REPLY_WORDS];
        r[0] = REPLY_REAPED;
        r[1] = -7;
        r[11] = i64::MAX;
        assert_eq!(decode_reply(&encode_reply(&r)), r);
    }

    #[test]
    fn descriptors_travel_with_their_bytes() {
        let mut sv = [0; 2];
        // SAFETY: sv has room for the two descriptors socketpair writes.
        assert_eq!(
            unsafe {
                libc::socketpair(
                    libc::AF_UNIX,
                    libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                    0,
                    sv.as_mut_ptr(),
                )
            },
            0
        );
        let mut p = [0; 2];
        // SAFETY: p has room for the two pipe ends.
        assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        let h = Header::reap().encode();
        send_with_fds(sv[0], &h, &[p[1], p[1]]).unwrap();
        let mut got = [0u8; HEADER_LEN];
        let mut fds = [-1; 2];
        assert_eq!(recv_with_fds(sv[1], &mut got, &mut fds), Ok(Some(2)));
        assert_eq!(got, h);
        // The received descriptor is the pipe's write end.
        // SAFETY: fds[0] is a descriptor we own; the buffer is 1 byte.
        assert_eq!(unsafe { libc::write(fds[0], b"x".as_ptr().cast(), 1) }, 1);
        let mut b = [0u8; 1];
        // SAFETY: p[0] is the read end; b has room for 1 byte.
        assert_eq!(unsafe { libc::read(p[0], b.as_mut_ptr().cast(), 1) }, 1);
        assert_eq!(&b, b"x");
        for fd in [sv[0], sv[1], p[0], p[1], fds[0], fds[1]] {
            // SAFETY: each is a descriptor this test opened.
            unsafe { libc::close(fd) };
        }
    }
}
