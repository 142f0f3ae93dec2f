//! Sorting libssh2 errors into transport error kinds.

use std::io;

use ssh2::{ErrorCode, Session};

use crate::transport::error::ErrorKind;

// libssh2's error codes (include/libssh2.h) that mean the connection is gone.
const SOCKET_NONE: i32 = -1;
const BANNER_RECV: i32 = -2;
const BANNER_SEND: i32 = -3;
const SOCKET_SEND: i32 = -7;
const TIMEOUT: i32 = -9;
const SOCKET_DISCONNECT: i32 = -13;
const SOCKET_TIMEOUT: i32 = -30;
const SOCKET_RECV: i32 = -43;
const BAD_SOCKET: i32 = -45;

/// The transport error kind for a libssh2 error met after the session was
/// established.
pub fn kind_of(e: &ssh2::Error) -> ErrorKind {
    match e.code() {
        ErrorCode::Session(TIMEOUT) => ErrorKind::Timeout,
        ErrorCode::Session(
            SOCKET_NONE | BANNER_RECV | BANNER_SEND | SOCKET_SEND | SOCKET_DISCONNECT
            | SOCKET_TIMEOUT | SOCKET_RECV | BAD_SOCKET,
        ) => ErrorKind::Disconnected,
        _ => ErrorKind::Other,
    }
}

/// The same for an `io::Error` from ssh2's `Read`/`Write` impls, which drop
/// the libssh2 code: the session's last error tells what happened.
pub fn kind_of_io(session: &Session, e: &io::Error) -> ErrorKind {
    if e.kind() == io::ErrorKind::TimedOut {
        return ErrorKind::Timeout;
    }
    match ssh2::Error::last_session_error(session) {
        Some(last) => kind_of(&last),
        None => ErrorKind::Other,
    }
}
