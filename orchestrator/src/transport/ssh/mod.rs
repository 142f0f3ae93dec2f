//! The `ssh` transport: one `ssh2` (libssh2) session per board, blocking,
//! used from one thread.
//!
//! Invariants: the session is in blocking mode (bounded by the session
//! timeout, `timeouts.connect`) except inside `channel_run`, which switches
//! it to non-blocking while a command runs. Once the connection is found
//! dead, every later call fails at once with `Disconnected`.

mod auth;
mod base64;
mod channel_run;
mod command;
mod endpoint;
mod errors;
mod host_key;
mod known_hosts;
mod push;
mod tcp;

use std::io::Read;
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ssh2::{Session, Sftp};

use self::channel_run::{run_channel, Link, RunEnd};
use self::command::{remote_command, split_pid};
use self::endpoint::Endpoint;
use self::errors::{kind_of, kind_of_io};
use crate::board::{BoardProfile, SshSettings};
use crate::transport::error::ErrorKind;
use crate::transport::shell::check_work_dir;
use crate::transport::{ExecOutput, PushFile, PushOutcome, Transport, TransportError};

pub use self::known_hosts::lookup_name;

/// An authenticated SSH session to one board.
pub struct SshTransport {
    who: Endpoint,
    work_dir: String,
    session: Session,
    /// A second handle on the session's socket: polled while commands run,
    /// shut down when the connection is found dead.
    socket: TcpStream,
    keepalive_s: u32,
    /// Bound for blocking operations and short helper commands.
    op_timeout: Duration,
    sftp: Option<Sftp>,
    /// Set when the connection is known to be dead (or closed): why.
    broken: Option<String>,
    /// The command whose connection died while it ran, as (remote pid,
    /// program); pid 0 if the board had not said it yet. It may still run.
    lost: Option<(u32, String)>,
}

impl SshTransport {
    /// Connects, verifies the host key, authenticates and creates work_dir.
    pub fn connect(board: &BoardProfile, settings: &SshSettings) -> Result<Self, TransportError> {
        let who = Endpoint::new(&board.name, &settings.user, &settings.host, settings.port);
        check_work_dir(&board.work_dir).map_err(|d| who.err(ErrorKind::Other, d))?;
        let connect_timeout = board.timeouts.connect;
        let op_timeout = connect_timeout.max(Duration::from_secs(1));

        let lines = known_hosts::read_lines(&settings.known_hosts).map_err(|e| {
            who.err(
                ErrorKind::HostKeyUnknown,
                format!(
                    "cannot read known_hosts {}: {e}; refusing",
                    settings.known_hosts.display()
                ),
            )
        })?;
        let lookup = lookup_name(&settings.host, settings.port);

        let stream = tcp::connect_tcp(&settings.host, settings.port, connect_timeout)
            .map_err(|d| who.err(ErrorKind::Unreachable, d))?;
        let socket = stream.try_clone().map_err(|e| {
            who.err(
                ErrorKind::Other,
                format!("cannot duplicate the socket: {e}"),
            )
        })?;
        let other = |what: &str, e: ssh2::Error| who.err(ErrorKind::Other, format!("{what}: {e}"));
        let mut session = Session::new().map_err(|e| other("cannot create an SSH session", e))?;
        session.set_timeout(op_timeout.as_millis().min(u128::from(u32::MAX)) as u32);
        host_key::prefer_known_algorithms(&session, &lines, &lookup)
            .map_err(|e| other("cannot set host key algorithms", e))?;
        session.set_tcp_stream(stream);
        session.handshake().map_err(|e| {
            who.err(
                ErrorKind::Unreachable,
                format!(
                    "SSH handshake failed (timeout {:.1} s): {}",
                    op_timeout.as_secs_f64(),
                    e.message()
                ),
            )
        })?;
        host_key::verify(&session, settings, &lines, &who)?;
        auth::authenticate(&session, &settings.user, settings.identity.as_deref(), &who)?;
        if settings.keepalive_s > 0 {
            session.set_keepalive(true, settings.keepalive_s);
        }

        let mut transport = SshTransport {
            who,
            work_dir: board.work_dir.trim_end_matches('/').to_string(),
            session,
            socket,
            keepalive_s: settings.keepalive_s,
            op_timeout,
            sftp: None,
            broken: None,
            lost: None,
        };
        transport.make_work_dir()?;
        Ok(transport)
    }

    fn make_work_dir(&mut self) -> Result<(), TransportError> {
        let argv = ["mkdir", "-p", self.work_dir.as_str()].map(String::from);
        let out = self.run_in("/", &argv, &[], self.op_timeout)?;
        if out.status != Some(0) {
            return Err(self.who.err(
                ErrorKind::Other,
                format!(
                    "cannot create work_dir {}: {}",
                    self.work_dir,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ));
        }
        Ok(())
    }

    fn err(&self, kind: ErrorKind, detail: impl std::fmt::Display) -> TransportError {
        self.who.err(kind, detail)
    }

    /// Fails at once if the connection was found dead before.
    fn usable(&self) -> Result<(), TransportError> {
        match &self.broken {
            Some(why) => Err(self.err(
                ErrorKind::Disconnected,
                format!("connection unusable: {why}"),
            )),
            None => Ok(()),
        }
    }

    /// Records a dead connection so later calls fail fast.
    fn note(&mut self, e: TransportError) -> TransportError {
        if e.kind() == ErrorKind::Disconnected {
            self.mark_broken(e.detail().to_string());
        }
        e
    }

    /// Gives up on the connection: later calls fail at once, and the socket
    /// is shut down so that freeing the session never waits on it.
    fn mark_broken(&mut self, why: String) {
        if self.broken.is_none() {
            self.broken = Some(why);
        }
        let _ = self.socket.shutdown(Shutdown::Both);
    }

    /// Runs `argv` in directory `cwd` on the board (see `command.rs`).
    fn run_in(
        &mut self,
        cwd: &str,
        argv: &[String],
        env: &[(String, String)],
        timeout: Duration,
    ) -> Result<ExecOutput, TransportError> {
        self.usable()?;
        let command = remote_command(cwd, argv, env).map_err(|d| self.err(ErrorKind::Other, d))?;
        let deadline = Instant::now() + timeout;
        let link = Link {
            session: &self.session,
            socket: &self.socket,
            keepalive_s: self.keepalive_s,
        };
        let mut partial = Vec::new();
        match run_channel(&link, &command, deadline, &mut partial) {
            Ok(RunEnd::Finished {
                status,
                signal,
                stdout,
                stderr,
            }) => {
                let (_, out) = split_pid(&stdout);
                Ok(ExecOutput {
                    status,
                    signal,
                    stdout: out.to_vec(),
                    stderr,
                })
            }
            Ok(RunEnd::DeadlinePassed { stdout, channel }) => {
                let (pid, _) = split_pid(&stdout);
                let killed = self.kill_group(pid);
                // Freed only now, after the kill, so its close completes.
                drop(channel);
                let e = self.err(
                    ErrorKind::Timeout,
                    format!(
                        "{} did not finish within {:.1} s; {killed}",
                        argv[0],
                        timeout.as_secs_f64()
                    ),
                );
                Err(e)
            }
            Err((kind, detail)) => {
                if kind == ErrorKind::Disconnected {
                    // Pid 0 when the pid line had not arrived yet (the
                    // connection can die before lwm has read it): the
                    // program is still known, and whoever stops an orphan
                    // then looks for it by its executable.
                    let pid = split_pid(&partial).0.unwrap_or(0);
                    self.lost = Some((pid, argv[0].clone()));
                }
                let e = self.err(kind, format!("running {}: {detail}", argv[0]));
                Err(self.note(e))
            }
        }
    }

    /// Kills the remote process group led by `pid` (from a second channel)
    /// and says what happened.
    fn kill_group(&mut self, pid: Option<u32>) -> String {
        let Some(pid) = pid else {
            return "its remote pid was never reported, so it was not killed".into();
        };
        let command =
            format!("kill -s KILL -- -{pid} 2>/dev/null || kill -s KILL {pid} 2>/dev/null; true");
        let link = Link {
            session: &self.session,
            socket: &self.socket,
            keepalive_s: self.keepalive_s,
        };
        match run_channel(
            &link,
            &command,
            Instant::now() + self.op_timeout,
            &mut Vec::new(),
        ) {
            Ok(RunEnd::Finished { .. }) => format!("killed the remote process group {pid}"),
            Ok(RunEnd::DeadlinePassed { .. }) => {
                format!("killing the remote process group {pid} timed out")
            }
            Err((kind, detail)) => {
                if kind == ErrorKind::Disconnected {
                    self.mark_broken(detail.clone());
                }
                format!("could not kill the remote process group {pid}: {detail}")
            }
        }
    }

    /// The SFTP subsystem, opened on first use.
    fn sftp(&mut self) -> Result<&Sftp, TransportError> {
        self.usable()?;
        if self.sftp.is_none() {
            match self.session.sftp() {
                Ok(sftp) => self.sftp = Some(sftp),
                Err(e) => {
                    let err = self.err(kind_of(&e), format!("cannot start SFTP: {}", e.message()));
                    return Err(self.note(err));
                }
            }
        }
        Ok(self.sftp.as_ref().expect("just set"))
    }

    /// An absolute board path for `path` (absolute, or relative to work_dir).
    fn board_path(&self, path: &str) -> PathBuf {
        Path::new(&self.work_dir).join(path)
    }
}

impl Transport for SshTransport {
    fn describe(&self) -> String {
        self.who.text.clone()
    }

    fn work_dir(&self) -> &str {
        &self.work_dir
    }

    fn push(&mut self, files: &[PushFile]) -> Result<Vec<PushOutcome>, TransportError> {
        push::push_files(self, files)
    }

    fn exec(
        &mut self,
        argv: &[String],
        env: &[(String, String)],
        timeout: Duration,
    ) -> Result<ExecOutput, TransportError> {
        let cwd = self.work_dir.clone();
        self.run_in(&cwd, argv, env, timeout)
    }

    fn lost_command(&self) -> Option<(u32, String)> {
        self.lost.clone()
    }

    fn fetch(&mut self, path: &str) -> Result<Vec<u8>, TransportError> {
        let full = self.board_path(path);
        let opened = self.sftp()?.open(&full);
        let mut file = match opened {
            Ok(f) => f,
            Err(e) => {
                let err = self.err(
                    kind_of(&e),
                    format!("cannot open {}: {}", full.display(), e.message()),
                );
                return Err(self.note(err));
            }
        };
        let mut data = Vec::new();
        if let Err(e) = file.read_to_end(&mut data) {
            let err = self.err(
                kind_of_io(&self.session, &e),
                format!("cannot read {}: {e}", full.display()),
            );
            return Err(self.note(err));
        }
        Ok(data)
    }

    fn close(&mut self) -> Result<(), TransportError> {
        if self.broken.is_some() {
            return Ok(());
        }
        self.sftp = None;
        let result = self.session.disconnect(None, "lwm: done", None);
        self.mark_broken("closed".into());
        result.map_err(|e| self.err(kind_of(&e), format!("disconnect failed: {}", e.message())))
    }
}

impl Drop for SshTransport {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
