//! One QEMU process: started with the image's command line, the guest's
//! port 22 forwarded to a free port on 127.0.0.1, stopped on drop.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::image::Image;
use crate::provider::image::last_lines;
use crate::provider::ssh_ready::{free_port, write_known_hosts};
use crate::provider::supervised::{ConsoleWatch, NotAnswered};

/// How long QEMU gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Tries with a new port when another process took the one picked.
const PORT_TRIES: usize = 3;

/// How to boot a VM: the bounds of each try and how many tries.
#[derive(Debug, Clone)]
pub struct BootPlan {
    /// From starting QEMU until sshd must answer, each try.
    pub timeout: Duration,
    /// Boot watchdog: the longest the serial console may print nothing
    /// new before sshd answers; then the try is abandoned.
    pub stall: Duration,
    /// Tries in all (at least 1).
    pub tries: u32,
    /// Words appended to the guest kernel's command line (`-append`).
    pub kernel_args: Option<String>,
}

/// A boot try the watchdog abandoned: the console had stopped.
#[derive(Debug, Clone)]
pub struct StalledBoot {
    /// 1-based.
    pub attempt: u32,
    pub tries: u32,
    /// How long the console had printed nothing.
    pub silent: Duration,
    /// The console's last 3 lines joined by " | ", or "(nothing)".
    pub console_tail: String,
    /// Where this try's console log was kept.
    pub console_log: PathBuf,
}

/// A running VM. Invariant: while this value lives, `child` is QEMU (or
/// has exited by itself) and `known_hosts` names `[127.0.0.1]:port` with
/// the image's host key. Dropping it stops QEMU.
pub struct RunningVm {
    child: Option<Child>,
    port: u16,
    known_hosts: PathBuf,
    console: PathBuf,
    booted_in: Duration,
    tries: u32,
}

/// How one boot try ended, short of an error.
enum Try {
    Up(RunningVm),
    /// The console printed nothing for this long; QEMU is stopped.
    Stalled(Duration),
}

impl RunningVm {
    /// Starts QEMU for `image` and returns once the guest's sshd answers.
    /// A try whose console prints nothing for `plan.stall` before then is
    /// a hung boot: QEMU is killed, `on_stall` told, and the boot tried
    /// again, `plan.tries` times in all; then this fails with the
    /// console's last lines. It also fails (QEMU stopped) when a try
    /// passes `plan.timeout`, when QEMU exits, and as soon as `cancel` is
    /// set. The console goes to `state_dir/console.log` (a hung try's to
    /// `console-tryN.log`), QEMU's own messages to `state_dir/qemu.stderr`.
    pub fn boot(
        image: &Image,
        state_dir: &Path,
        plan: &BootPlan,
        cancel: &AtomicBool,
        on_stall: &dyn Fn(&StalledBoot),
    ) -> anyhow::Result<RunningVm> {
        let program = &image.boot_args[0];
        if !on_path(program) {
            bail!("`{program}` not found (run scripts/setup-qemu.sh)");
        }
        let args = with_kernel_args(&image.boot_args[1..], plan.kernel_args.as_deref())
            .map_err(|e| anyhow::anyhow!("VM {}: {e}", image.name))?;
        let tries = plan.tries.max(1);
        let console = state_dir.join("console.log");
        let started = Instant::now();
        for attempt in 1..=tries {
            match Self::try_boot(image, program, &args, state_dir, plan, cancel)? {
                Try::Up(mut vm) => {
                    vm.booted_in = started.elapsed();
                    vm.tries = attempt;
                    return Ok(vm);
                }
                Try::Stalled(silent) => {
                    let console_tail = super::console_tail(&console, 3);
                    let kept = state_dir.join(format!("console-try{attempt}.log"));
                    let console_log = match std::fs::rename(&console, &kept) {
                        Ok(()) => kept,
                        Err(_) => console.clone(),
                    };
                    on_stall(&StalledBoot {
                        attempt,
                        tries,
                        silent,
                        console_tail: console_tail.clone(),
                        console_log,
                    });
                    if attempt == tries {
                        bail!(
                            "VM {}: the boot hung on each of {tries} tries (no console output for {} s before sshd answered; boot_stall_s); console's last lines: {console_tail}",
                            image.name,
                            plan.stall.as_secs()
                        );
                    }
                }
            }
        }
        unreachable!("the last try returns")
    }

    /// One boot: QEMU started (on another free port if the one picked was
    /// taken meanwhile) and watched until sshd answers.
    fn try_boot(
        image: &Image,
        program: &str,
        args: &[String],
        state_dir: &Path,
        plan: &BootPlan,
        cancel: &AtomicBool,
    ) -> anyhow::Result<Try> {
        let console = state_dir.join("console.log");
        let stderr_path = state_dir.join("qemu.stderr");
        let known_hosts = state_dir.join("known_hosts");
        let started = Instant::now();
        for attempt in 1..=PORT_TRIES {
            let port = free_port()?;
            let _ = std::fs::remove_file(&console);
            let args: Vec<String> = args
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
            crate::provider::supervised::own_group_dying_with_parent(&mut command);
            let child = command
                .spawn()
                .with_context(|| format!("cannot start {program}"))?;
            write_known_hosts(&known_hosts, port, &image.host_key)?;
            let mut vm = RunningVm {
                child: Some(child),
                port,
                known_hosts: known_hosts.clone(),
                console: console.clone(),
                booted_in: Duration::ZERO,
                tries: 1,
            };
            match vm.wait_for_ssh(started + plan.timeout, plan.stall, cancel) {
                Ok(()) => return Ok(Try::Up(vm)),
                Err(NotAnswered::Stalled(silent)) => {
                    // Killed, not asked: a hung guest has nothing to save.
                    vm.kill();
                    return Ok(Try::Stalled(silent));
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

    /// How many boots it took (1 when the first answered).
    pub fn tries(&self) -> u32 {
        self.tries
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
        crate::provider::supervised::reap_within(child, STOP_GRACE);
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

    /// Kills QEMU at once (SIGKILL) and reaps it. Idempotent.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether QEMU is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    fn wait_for_ssh(
        &mut self,
        deadline: Instant,
        stall: Duration,
        cancel: &AtomicBool,
    ) -> Result<(), NotAnswered> {
        crate::provider::supervised::wait_for_sshd_watching(
            self.child.as_mut(),
            "QEMU",
            self.port,
            deadline,
            Some(cancel),
            Duration::from_millis(500),
            Some(ConsoleWatch {
                path: &self.console,
                stall,
            }),
        )
    }
}

impl Drop for RunningVm {
    fn drop(&mut self) {
        self.stop();
    }
}

/// QEMU's arguments with `extra` appended to the kernel command line (the
/// argument after `-append`), so that a later word wins over the image's.
fn with_kernel_args(args: &[String], extra: Option<&str>) -> Result<Vec<String>, String> {
    let mut args = args.to_vec();
    let Some(extra) = extra else {
        return Ok(args);
    };
    match args.iter().position(|a| a == "-append") {
        Some(i) if i + 1 < args.len() => {
            let line = &mut args[i + 1];
            line.push(' ');
            line.push_str(extra);
            Ok(args)
        }
        _ => Err(format!(
            "the profile sets qemu.kernel_args `{extra}`, but the image's boot.args has no -append to add them to"
        )),
    }
}

fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

#[cfg(test)]
mod tests {
    use super::with_kernel_args;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn kernel_args_go_after_the_images_own() {
        let args = v(&[
            "-kernel",
            "k",
            "-append",
            "console=ttyAMA0 panic=-1",
            "-no-reboot",
        ]);
        assert_eq!(with_kernel_args(&args, None).unwrap(), args);
        assert_eq!(
            with_kernel_args(&args, Some("rdinit=/x panic=0")).unwrap(),
            v(&[
                "-kernel",
                "k",
                "-append",
                "console=ttyAMA0 panic=-1 rdinit=/x panic=0",
                "-no-reboot"
            ])
        );
        let err = with_kernel_args(&v(&["-kernel", "k"]), Some("quiet")).unwrap_err();
        assert!(err.contains("no -append"), "{err}");
        assert!(with_kernel_args(&v(&["-append"]), Some("quiet")).is_err());
    }
}
