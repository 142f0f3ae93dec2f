//! User authentication: a private key file, or every identity ssh-agent
//! holds.

use std::path::Path;

use ssh2::Session;

use super::endpoint::Endpoint;
use crate::transport::error::ErrorKind;
use crate::transport::TransportError;

/// Authenticates `user` with `identity`, or through ssh-agent when it is
/// `None`. The error names the user and the method tried.
pub fn authenticate(
    session: &Session,
    user: &str,
    identity: Option<&Path>,
    who: &Endpoint,
) -> Result<(), TransportError> {
    let failed = |detail: String| who.err(ErrorKind::AuthFailed, detail);
    match identity {
        Some(key) => {
            if let Err(e) = std::fs::metadata(key) {
                return Err(failed(format!(
                    "user {user}: cannot read the identity file {}: {e}",
                    key.display()
                )));
            }
            session
                .userauth_pubkey_file(user, None, key, None)
                .map_err(|e| {
                    failed(format!(
                        "user {user}: public key {} was refused ({})",
                        key.display(),
                        e.message()
                    ))
                })?;
        }
        None => with_agent(session, user).map_err(failed)?,
    }
    if session.authenticated() {
        Ok(())
    } else {
        Err(failed(format!(
            "user {user}: the server did not accept the authentication"
        )))
    }
}

/// Tries each identity the agent offers until one is accepted.
fn with_agent(session: &Session, user: &str) -> Result<(), String> {
    let ctx =
        |what: &str, e: ssh2::Error| format!("user {user}: ssh-agent {what}: {}", e.message());
    let mut agent = session.agent().map_err(|e| ctx("unavailable", e))?;
    agent.connect().map_err(|e| {
        let sock = std::env::var("SSH_AUTH_SOCK").unwrap_or_else(|_| "unset".into());
        ctx(&format!("not reachable (SSH_AUTH_SOCK {sock})"), e)
    })?;
    agent
        .list_identities()
        .map_err(|e| ctx("cannot list identities", e))?;
    let identities = agent
        .identities()
        .map_err(|e| ctx("cannot list identities", e))?;
    let mut tried = Vec::new();
    for identity in &identities {
        if agent.userauth(user, identity).is_ok() {
            let _ = agent.disconnect();
            return Ok(());
        }
        tried.push(
            if identity.comment().is_empty() {
                "(no comment)"
            } else {
                identity.comment()
            }
            .to_string(),
        );
    }
    let _ = agent.disconnect();
    if tried.is_empty() {
        Err(format!("user {user}: ssh-agent holds no identities"))
    } else {
        Err(format!(
            "user {user}: the server refused all {} ssh-agent identities ({})",
            tried.len(),
            tried.join(", ")
        ))
    }
}
