//! Who an SSH error is about: the board's name and `ssh user@host:port`.

use crate::transport::error::ErrorKind;
use crate::transport::TransportError;

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub board: String,
    /// `ssh user@host:port`, the start of every detail.
    pub text: String,
}

impl Endpoint {
    pub fn new(board: &str, user: &str, host: &str, port: u16) -> Self {
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        Endpoint {
            board: board.to_string(),
            text: format!("ssh {user}@{host}:{port}"),
        }
    }

    pub fn err(&self, kind: ErrorKind, detail: impl std::fmt::Display) -> TransportError {
        TransportError::new(kind, &self.board, format!("{}: {detail}", self.text))
    }
}
