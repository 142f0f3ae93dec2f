//! One QEMU process: started with the image's command line, the guest's
//! port 22 forwarded to a free port on 127.0.0.1, stopped on drop.

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::image::{last_lines, Image};

/// How long QEMU gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Tries with a new port when another process took the one picked.
const PORT_TRIES: usize = 3;

/// A running VM. Invariant: while this value lives, `child` is QEMU (or
/// has exited by itself) and `known_hosts` names `[127.0.0.1]:port` with
/// the image's host key. Dropping it stops QEMU.
pub struct RunningVm {
    child: Option<Child>,
    port: u16,
    known_hosts: PathBuf,
    console: PathBuf,
    booted_in: Duration,
}

impl RunningVm {
    /// Starts QEMU for `image` and returns once the guest's sshd answers,
    /// or fails (QEMU stopped) after `timeout`, if QEMU exits, or as soon
    /// as `cancel` is set. The console goes to `state_dir/console.log`,
    /// QEMU's own messages to `state_dir/qemu.stderr`.
    pub fn boot(
        image: &Image,
        state_dir: &Path,
        timeout: Duration,
        cancel: &AtomicBool,
    ) -> anyhow::Result<RunningVm> {
        let program = &image.boot_args[0];
        if !on_path(program) {
            bail!("`{program}` not found (run scripts/setup-qemu.sh)");
        }
        let console = state_dir.join("console.log");
        let stderr_path = state_dir.join("qemu.stderr");
        let known_hosts = state_dir.join("known_hosts");
        let started = Instant::now();
        for attempt in 1..=PORT_TRIES {
            let port = free_port()?;
            let _ = std::fs::remove_file(&console);
            let args: Vec<String> = image.boot_args[1..]
                .iter()
                .map(|a| {
                    a.replace("@IMAGE@", &image.dir.display().to_string())
                        .replace("@PORT@", &port.to_string())
                        .replace("@CONSOLE@", &console.display().to_string())
                })
                .collect();
            let stderr = File::create(&stderr_path)
                .with_context(|| format!("cannot create {}", stderr_path.display()))?;
            let mut command = Command::new(program);
            command
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr);
            crate::supervised::own_group_dying_with_parent(&mut command);
            let child = command
                .spawn()
                .with_context(|| format!("cannot start {program}"))?;
            std::fs::write(
                &known_hosts,
                format!("[127.0.0.1]:{port} {}\n", image.host_key),
            )
            .with_context(|| format!("cannot write {}", known_hosts.display()))?;
            let mut vm = RunningVm {
                child: Some(child),
                port,
                known_hosts: known_hosts.clone(),
                console: console.clone(),
                booted_in: Duration::ZERO,
            };
            match vm.wait_for_ssh(started + timeout, cancel) {
                Ok(()) => {
                    vm.booted_in = started.elapsed();
                    return Ok(vm);
                }
                Err(e) => {
                    vm.stop();
                    let qemu_said = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                    if cancel.load(Ordering::SeqCst) {
                        bail!("VM {}: boot interrupted", image.name);
                    }
                    if attempt < PORT_TRIES && qemu_said.contains("host forwarding") {
                        continue;
                    }
                    let or_nothing = |t: String| {
                        if t.is_empty() {
                            "(nothing)".to_string()
                        } else {
                            t
                        }
                    };
                    bail!(
                        "VM {} (port {port}): {e}; qemu said: {}; console: {}",
                        image.name,
                        or_nothing(last_lines(&stderr_path, 2)),
                        or_nothing(last_lines(&console, 3))
                    );
                }
            }
        }
        unreachable!("the last try returns")
    }

    /// Loopback port forwarded to the guest's sshd.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// known_hosts file holding exactly this VM's host key.
    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }

    /// The guest's serial console log.
    pub fn console(&self) -> &Path {
        &self.console
    }

    /// From starting QEMU until sshd answered.
    pub fn booted_in(&self) -> Duration {
        self.booted_in
    }

    /// Stops QEMU: SIGTERM (QEMU exits at once; the guest's root
    /// filesystem lives in RAM, so there is nothing to flush), then
    /// SIGKILL after a grace period. Idempotent.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: kill(2) with the pid of our own child, which has not
            // been reaped yet (try_wait above said it runs), so the pid
            // cannot name another process.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        crate::supervised::reap_within(child, STOP_GRACE);
    }

    /// QEMU's exit status if it has exited or exits within `grace`;
    /// `None` while it runs (or once stopped by [`RunningVm::stop`]).
    pub fn exited_within(&mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + grace;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether QEMU is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    fn wait_for_ssh(&mut self, deadline: Instant, cancel: &AtomicBool) -> anyhow::Result<()> {
        crate::supervised::wait_for_sshd(
            self.child.as_mut(),
            "QEMU",
            self.port,
            deadline,
            Some(cancel),
            Duration::from_millis(500),
        )
    }
}

impl Drop for RunningVm {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port on 127.0.0.1 that was free a moment ago (QEMU binds it next; a
/// lost race shows as a host-forwarding error and is retried).
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("no free loopback port")?;
    Ok(listener.local_addr()?.port())
}

fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}
