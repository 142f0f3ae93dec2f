//! Why talking to a board failed, as one line that names the board.

use std::fmt;

/// Why talking to a board failed. `Display` is one line naming the board:
/// `board pi4: host key changed: ssh pi@10.0.0.5:22: known_hosts ...`.
/// `board` is the board's name; `detail` says what happened and, for SSH
/// boards, starts with the endpoint (`ssh user@host:port`).
#[derive(Debug)]
pub enum TransportError {
    /// TCP connect failed or timed out, or the SSH handshake failed.
    Unreachable { board: String, detail: String },
    /// The server refused every authentication method offered.
    AuthFailed { board: String, detail: String },
    /// The host key differs from the one in known_hosts: refused.
    HostKeyChanged { board: String, detail: String },
    /// The host is not in known_hosts and the policy is strict (or the
    /// known_hosts check could not be made): refused.
    HostKeyUnknown { board: String, detail: String },
    /// A command (or a blocking SSH operation) did not finish in time.
    Timeout { board: String, detail: String },
    /// The connection dropped (mid-command or between commands), or the
    /// board stopped answering keepalives.
    Disconnected { board: String, detail: String },
    /// A pushed file's checksum on the board did not match.
    ChecksumMismatch { board: String, detail: String },
    /// Anything else (local I/O, protocol errors, bad arguments).
    Other { board: String, detail: String },
}

/// The kinds of [`TransportError`], to build one without repeating the
/// field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Unreachable,
    AuthFailed,
    HostKeyChanged,
    HostKeyUnknown,
    Timeout,
    Disconnected,
    ChecksumMismatch,
    Other,
}

impl TransportError {
    /// Builds the variant for `kind`.
    pub fn new(kind: ErrorKind, board: impl Into<String>, detail: impl Into<String>) -> Self {
        let (board, detail) = (board.into(), detail.into());
        match kind {
            ErrorKind::Unreachable => TransportError::Unreachable { board, detail },
            ErrorKind::AuthFailed => TransportError::AuthFailed { board, detail },
            ErrorKind::HostKeyChanged => TransportError::HostKeyChanged { board, detail },
            ErrorKind::HostKeyUnknown => TransportError::HostKeyUnknown { board, detail },
            ErrorKind::Timeout => TransportError::Timeout { board, detail },
            ErrorKind::Disconnected => TransportError::Disconnected { board, detail },
            ErrorKind::ChecksumMismatch => TransportError::ChecksumMismatch { board, detail },
            ErrorKind::Other => TransportError::Other { board, detail },
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            TransportError::Unreachable { .. } => ErrorKind::Unreachable,
            TransportError::AuthFailed { .. } => ErrorKind::AuthFailed,
            TransportError::HostKeyChanged { .. } => ErrorKind::HostKeyChanged,
            TransportError::HostKeyUnknown { .. } => ErrorKind::HostKeyUnknown,
            TransportError::Timeout { .. } => ErrorKind::Timeout,
            TransportError::Disconnected { .. } => ErrorKind::Disconnected,
            TransportError::ChecksumMismatch { .. } => ErrorKind::ChecksumMismatch,
            TransportError::Other { .. } => ErrorKind::Other,
        }
    }

    /// The board's name.
    pub fn board(&self) -> &str {
        self.parts().0
    }

    /// What happened, without the board and kind.
    pub fn detail(&self) -> &str {
        self.parts().1
    }

    fn parts(&self) -> (&str, &str) {
        match self {
            TransportError::Unreachable { board, detail }
            | TransportError::AuthFailed { board, detail }
            | TransportError::HostKeyChanged { board, detail }
            | TransportError::HostKeyUnknown { board, detail }
            | TransportError::Timeout { board, detail }
            | TransportError::Disconnected { board, detail }
            | TransportError::ChecksumMismatch { board, detail }
            | TransportError::Other { board, detail } => (board, detail),
        }
    }
}

impl ErrorKind {
    /// Short lower-case label used in messages.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::AuthFailed => "authentication failed",
            ErrorKind::HostKeyChanged => "host key changed",
            ErrorKind::HostKeyUnknown => "host key unknown",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Disconnected => "disconnected",
            ErrorKind::ChecksumMismatch => "checksum mismatch",
            ErrorKind::Other => "error",
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (board, detail) = self.parts();
        // One line, whatever the remote side put in the detail.
        let detail = detail.replace(['\n', '\r'], " ");
        write!(
            f,
            "board {board}: {}: {}",
            self.kind().label(),
            detail.trim_end()
        )
    }
}

impl std::error::Error for TransportError {}
