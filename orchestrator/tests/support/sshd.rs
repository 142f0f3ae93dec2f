//! A real OpenSSH server on 127.0.0.1 for tests, in a private temp dir.
//!
//! ```ignore
//! #[path = "support/sshd.rs"]
//! mod sshd;
//!
//! let server = sshd::TestSshd::start();
//! let board = server.board_profile("vm", "/tmp/lwm-work-x"); // a BoardProfile (ssh, strict keys)
//! let mut t = lwm::transport::connect(&board).unwrap();
//! ...
//! server.handle().kill_all(); // from any thread: kill sshd and its sessions
//! ```
//!
//! `start()` generates (with ssh-keygen, ed25519) a host key and a user key
//! in a fresh directory under the system temp dir, writes an sshd_config
//! (free port, ListenAddress 127.0.0.1, that host key, authorized_keys in the
//! temp dir, public-key authentication only, `PermitRootLogin
//! prohibit-password`, `AllowUsers` the current user, `StrictModes no`,
//! `Subsystem sftp internal-sftp`, `SetEnv LWM_TEST_SSHD=<dir>` to find
//! its sessions' processes), starts `/usr/sbin/sshd -D -f cfg -E log`
//! as a child and waits until it answers with an SSH banner. It also writes
//! `known_hosts` with the host key under `[127.0.0.1]:port`. Nothing under
//! `~/.ssh` is read or written. Drop (or `stop()`) kills the daemon and every
//! per-connection sshd process and shell it started, then removes the dir.
//!
//! Needs `openssh-server` and `openssh-client` (installed by
//! scripts/setup.sh). Run as root, sshd logs in as root; as another user it
//! logs in as that user.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use lwm::board::{Access, BoardProfile, Emulation, HostKeyPolicy, SshSettings, Timeouts};

const SSHD: &str = "/usr/sbin/sshd";

/// A running sshd and the keys and files that go with it.
pub struct TestSshd {
    /// Port on 127.0.0.1.
    pub port: u16,
    /// The private temp directory holding everything below.
    pub dir: PathBuf,
    /// The host public key line: `ssh-ed25519 AAAA... comment`.
    pub host_key_pub: String,
    /// A private key listed in authorized_keys.
    pub user_key: PathBuf,
    /// A private key the server does not accept.
    pub stranger_key: PathBuf,
    /// `[127.0.0.1]:port ssh-ed25519 AAAA...`, the server's real key.
    pub known_hosts_path: PathBuf,
    /// The user sshd lets in (the current user).
    pub user: String,
    /// sshd's log (`-E`).
    pub log_path: PathBuf,
    child: Option<Child>,
}

/// A handle to act on the daemon's processes from any thread.
#[derive(Debug, Clone)]
pub struct SshdHandle {
    pub pid: u32,
    /// `LWM_TEST_SSHD=<dir>`: sshd sets it (SetEnv) in every session, so
    /// commands whose sshd parent is gone can still be found.
    marker: String,
}

impl TestSshd {
    /// The text of a board profile for this server: an SSH board of this
    /// machine whose work directory is `work_dir`, with short timeouts.
    pub fn profile_text(&self, description: &str, work_dir: &Path) -> String {
        format!(
            r#"description = "{description}"
target = "host"
cpu = "native"
work_dir = "{work}"

[transport]
kind = "ssh"
host = "127.0.0.1"
port = {port}
user = "{user}"
identity = "{key}"
known_hosts = "{kh}"
host_key_policy = "strict"
keepalive_s = 2

[timeouts]
connect_s = 5
run_s = 120
"#,
            work = work_dir.display(),
            port = self.port,
            user = self.user,
            key = self.user_key.display(),
            kh = self.known_hosts_path.display(),
        )
    }

    /// Starts a server; panics with sshd's log if it does not come up.
    pub fn start() -> TestSshd {
        let dir = fresh_dir();
        let host_key = dir.join("host_ed25519");
        let user_key = dir.join("user_ed25519");
        let stranger_key = dir.join("stranger_ed25519");
        for (key, comment) in [
            (&host_key, "lwm-test-host"),
            (&user_key, "lwm-test-user"),
            (&stranger_key, "lwm-test-stranger"),
        ] {
            keygen(key, comment);
        }
        let host_key_pub = fs::read_to_string(host_key.with_extension("pub"))
            .unwrap()
            .trim()
            .to_string();
        fs::copy(user_key.with_extension("pub"), dir.join("authorized_keys")).unwrap();
        let user = current_user();
        let log_path = dir.join("sshd.log");
        let _ = fs::create_dir_all("/run/sshd"); // privilege separation dir

        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let config = dir.join("sshd_config");
            fs::write(&config, sshd_config(&dir, port, &host_key, &user)).unwrap();
            let _ = fs::remove_file(&log_path);
            let child = Command::new(SSHD)
                .arg("-D")
                .arg("-f")
                .arg(&config)
                .arg("-E")
                .arg(&log_path)
                .stdin(Stdio::null())
                .spawn()
                .expect("run /usr/sbin/sshd (openssh-server, installed by scripts/setup.sh)");
            let mut server = TestSshd {
                port,
                known_hosts_path: dir.join("known_hosts"),
                dir: dir.clone(),
                host_key_pub: host_key_pub.clone(),
                user_key: user_key.clone(),
                stranger_key: stranger_key.clone(),
                user: user.clone(),
                log_path: log_path.clone(),
                child: Some(child),
            };
            if server.wait_ready(Duration::from_secs(15)) {
                let key = key_part(&host_key_pub);
                fs::write(
                    &server.known_hosts_path,
                    format!("[127.0.0.1]:{port} {key}\n"),
                )
                .unwrap();
                return server;
            }
            last_log = server.log();
            server.stop_processes();
            server.child = None;
        }
        panic!("sshd did not start; last log:\n{last_log}");
    }

    /// Waits until the port answers with an SSH banner from our daemon.
    fn wait_ready(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_)) = child.try_wait() {
                    return false; // exited: e.g. the port was taken meanwhile
                }
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut banner = [0u8; 8];
                if s.read_exact(&mut banner).is_ok() && &banner == b"SSH-2.0-" {
                    return true;
                }
            }
            thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// A board reached through this server: strict host keys checked against
    /// `known_hosts_path`, `user_key` as identity, keepalive every 2 s,
    /// timeouts connect 5 s / run 60 s / board 600 s.
    pub fn board_profile(&self, name: &str, work_dir: &str) -> BoardProfile {
        BoardProfile {
            name: name.to_string(),
            description: "test sshd on 127.0.0.1".to_string(),
            file: self.dir.join(format!("{name}.toml")),
            file_sha256: "0".repeat(64),
            target: format!("{}-unknown-linux-gnu", std::env::consts::ARCH),
            cpu: "native".to_string(),
            glibc: None,
            access: Access::Ssh(Some(SshSettings {
                host: "127.0.0.1".to_string(),
                port: self.port,
                user: self.user.clone(),
                identity: Some(self.user_key.clone()),
                known_hosts: self.known_hosts_path.clone(),
                host_key_policy: HostKeyPolicy::Strict,
                keepalive_s: 2,
            })),
            provider: None,
            work_dir: work_dir.to_string(),
            allocators: BTreeMap::new(),
            emulation: Emulation::None,
            workload_scale: 1.0,
            timeouts: Timeouts {
                connect: Duration::from_secs(5),
                run: Duration::from_secs(60),
                board: Duration::from_secs(600),
            },
        }
    }

    /// The same profile with the SSH settings changed by `edit`.
    pub fn board_profile_with(
        &self,
        name: &str,
        work_dir: &str,
        edit: impl FnOnce(&mut SshSettings),
    ) -> BoardProfile {
        let mut board = self.board_profile(name, work_dir);
        if let Access::Ssh(Some(settings)) = &mut board.access {
            edit(settings);
        }
        board
    }

    pub fn handle(&self) -> SshdHandle {
        SshdHandle {
            pid: self.child.as_ref().expect("running").id(),
            marker: session_marker(&self.dir),
        }
    }

    /// sshd's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Kills the daemon and its sessions (the temp dir stays until drop).
    pub fn stop(&mut self) {
        self.stop_processes();
    }

    fn stop_processes(&mut self) {
        if self.child.is_some() {
            self.handle().kill_all();
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        self.stop_processes();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl SshdHandle {
    /// The daemon, every process below it (per-connection sshd processes
    /// call setsid, so a process group would miss them) and every process
    /// of its sessions that outlived its sshd parent.
    pub fn tree(&self) -> Vec<u32> {
        let parents = parent_map();
        let mut tree = BTreeSet::from([self.pid]);
        tree.extend(
            parents
                .keys()
                .copied()
                .filter(|&p| has_env(p, &self.marker)),
        );
        loop {
            let before = tree.len();
            for (&pid, &ppid) in &parents {
                if tree.contains(&ppid) {
                    tree.insert(pid);
                }
            }
            if tree.len() == before {
                return tree.into_iter().collect();
            }
        }
    }

    /// SIGKILLs the whole tree, repeatedly until nothing below the daemon
    /// is left (a connection may fork while we kill).
    pub fn kill_all(&self) {
        for _ in 0..50 {
            let tree = self.tree();
            let alive: Vec<u32> = tree.into_iter().filter(|p| is_alive(*p)).collect();
            if alive.is_empty() {
                return;
            }
            for pid in alive {
                signal(pid, libc::SIGKILL);
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGSTOPs the whole tree: the board "hangs" with its TCP socket open.
    pub fn freeze(&self) {
        for pid in self.tree() {
            signal(pid, libc::SIGSTOP);
        }
    }

    pub fn thaw(&self) {
        for pid in self.tree() {
            signal(pid, libc::SIGCONT);
        }
    }

    /// The per-connection sshd processes (everything named `sshd` below
    /// the daemon, not the daemon itself): one chain per open connection.
    pub fn session_sshds(&self) -> Vec<u32> {
        self.named("sshd")
            .into_iter()
            .filter(|&p| p != self.pid)
            .collect()
    }

    /// Live processes of this server's tree whose command name is `comm`
    /// (e.g. `lwm-agent`, the program a session runs).
    pub fn named(&self, comm: &str) -> Vec<u32> {
        self.tree()
            .into_iter()
            .filter(|&p| is_alive(p) && command_name(p).as_deref() == Some(comm))
            .collect()
    }

    /// SIGKILLs every per-connection sshd process, leaving the daemon (it
    /// accepts new connections) and the commands the sessions ran: what a
    /// connection that drops looks like from both ends. Returns the pids.
    pub fn drop_connections(&self) -> Vec<u32> {
        let pids = self.session_sshds();
        for &pid in &pids {
            signal(pid, libc::SIGKILL);
        }
        pids
    }
}

/// The parent of `pid`, if it runs.
pub fn parent_pid(pid: u32) -> Option<u32> {
    parent_map().get(&pid).copied()
}

/// `/proc/PID/comm` without the newline.
pub fn command_name(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim_end().to_string())
}

/// Sends `sig` to `pid` (a test's own process or one of its server's).
pub fn send_signal(pid: u32, sig: i32) {
    signal(pid, sig);
}

fn session_marker(dir: &Path) -> String {
    format!("LWM_TEST_SSHD={}", dir.display())
}

/// Whether process `pid` has `entry` (`NAME=value`) in its environment.
fn has_env(pid: u32, entry: &str) -> bool {
    fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|b| *b == 0).any(|e| e == entry.as_bytes()))
        .unwrap_or(false)
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions; pid is a process
    // of this test's sshd tree (a zombie or gone process just fails).
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// Alive and not a zombie.
fn is_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                != Some("Z")
        }
        Err(_) => false,
    }
}

/// pid -> parent pid for every process.
fn parent_map() -> BTreeMap<u32, u32> {
    let mut map = BTreeMap::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return map;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the `(comm)`, which may contain spaces: state ppid ...
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok());
        if let Some(ppid) = ppid {
            map.insert(pid, ppid);
        }
    }
    map
}

fn sshd_config(dir: &Path, port: u16, host_key: &Path, user: &str) -> String {
    format!(
        "Port {port}\n\
         ListenAddress 127.0.0.1\n\
         HostKey {host_key}\n\
         PidFile {dir}/sshd.pid\n\
         AuthorizedKeysFile {dir}/authorized_keys\n\
         StrictModes no\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         PermitRootLogin prohibit-password\n\
         AllowUsers {user}\n\
         UseDNS no\n\
         PrintMotd no\n\
         MaxStartups 64\n\
         MaxSessions 64\n\
         LogLevel VERBOSE\n\
         Subsystem sftp internal-sftp\n\
         SetEnv {marker}\n",
        marker = session_marker(dir),
        host_key = host_key.display(),
        dir = dir.display(),
    )
}

/// `ssh-ed25519 AAAA...` without the comment.
pub fn key_part(pub_line: &str) -> String {
    pub_line
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Generates an unencrypted ed25519 key pair at `path` and `path.pub`.
pub fn keygen(path: &Path, comment: &str) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("run ssh-keygen (openssh-client, installed by scripts/setup.sh)");
    assert!(status.success(), "ssh-keygen failed for {}", path.display());
}

fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A port nobody listened on a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A new empty directory under the system temp dir, unique to this
/// process and call.
pub fn fresh_dir() -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("lwm-sshd-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}
