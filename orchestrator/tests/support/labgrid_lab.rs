//! A real labgrid lab on 127.0.0.1 for tests: labgrid from PyPI (pinned in
//! scripts/setup-labgrid.sh, which this runs), a coordinator, an exporter
//! exporting NetworkService resources (sshd's on loopback), places.
//!
//! ```ignore
//! #[path = "support/labgrid_lab.rs"]
//! mod labgrid_lab;
//! let lab = labgrid_lab::Lab::start("tag", &[("board-a", "127.0.0.1", 2222, "root")]);
//! lab.place("lwm-a", "board-a", &["lwm_target=host", "lwm_cpu=native"]);
//! lab.client(Some("intruder"), &["-p", "lwm-a", "acquire"]);
//! ```
//!
//! The coordinator listens on 127.0.0.1 on a port it picks; it and the
//! exporter run in a private temp dir (the coordinator keeps its places
//! there) and are killed, by pid, on drop.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The name the exporter registers under.
pub const EXPORTER: &str = "lwm-test-exporter";

pub struct Lab {
    /// `127.0.0.1:PORT` of the coordinator.
    pub address: String,
    /// labgrid's venv bin directory.
    pub bin: PathBuf,
    pub dir: PathBuf,
    coordinator: Option<Child>,
    exporter: Option<Child>,
}

/// Runs scripts/setup-labgrid.sh (installs labgrid from PyPI the first
/// time) and returns the venv's bin directory, its last line.
pub fn setup_labgrid() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/setup-labgrid.sh");
    let out = Command::new(&script)
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/setup-labgrid.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "setup-labgrid.sh failed:\n{stdout}");
    PathBuf::from(stdout.lines().last().expect("bin dir").trim())
}

impl Lab {
    /// Starts a coordinator and an exporter of one NetworkService per
    /// `(group, address, port, username)`, and waits until every one is
    /// known and available on the coordinator.
    pub fn start(tag: &str, services: &[(&str, &str, u16, &str)]) -> Lab {
        let bin = setup_labgrid();
        let dir =
            std::env::temp_dir().join(format!("lwm-labgrid-lab-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let logs = dir.clone();
        let log = move |name: &str| std::fs::File::create(logs.join(name)).unwrap();
        let coordinator = Command::new(bin.join("labgrid-coordinator"))
            .args(["-l", "127.0.0.1:0"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log("coordinator.log"))
            .stderr(log("coordinator.err"))
            .spawn()
            .expect("start labgrid-coordinator");
        let mut lab = Lab {
            address: String::new(),
            bin,
            dir,
            coordinator: Some(coordinator),
            exporter: None,
        };
        let start = Instant::now();
        lab.address = loop {
            let text = std::fs::read_to_string(lab.dir.join("coordinator.log")).unwrap_or_default();
            if let Some(addr) = text.lines().find_map(|l| l.strip_prefix("listening on ")) {
                break addr.trim().to_string();
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "labgrid-coordinator did not listen: {}",
                lab.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut config = String::new();
        for (group, address, port, user) in services {
            config.push_str(&format!(
                "{group}:\n  NetworkService:\n    address: \"{address}\"\n    port: {port}\n    username: \"{user}\"\n"
            ));
        }
        std::fs::write(lab.dir.join("exporter.yaml"), config).unwrap();
        let exporter = Command::new(lab.bin.join("labgrid-exporter"))
            .args([
                "-c",
                &lab.address,
                "-n",
                EXPORTER,
                "--hostname",
                "127.0.0.1",
            ])
            .arg(lab.dir.join("exporter.yaml"))
            .current_dir(&lab.dir)
            .stdin(Stdio::null())
            .stdout(log("exporter.log"))
            .stderr(log("exporter.err"))
            .spawn()
            .expect("start labgrid-exporter");
        lab.exporter = Some(exporter);
        let start = Instant::now();
        loop {
            let out = lab.client(None, &["resources"]);
            let listed = String::from_utf8_lossy(&out.stdout);
            if services
                .iter()
                .all(|(g, ..)| listed.contains(&format!("{EXPORTER}/{g}/NetworkService")))
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the exporter's resources never showed: {listed}\n{}",
                lab.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        lab
    }

    /// `labgrid-client -x ADDRESS ARGS`, as `user` (LG_USERNAME) when
    /// given, else as this user.
    pub fn client(&self, user: Option<&str>, args: &[&str]) -> Output {
        let mut c = Command::new(self.bin.join("labgrid-client"));
        c.args(["-x", &self.address]).args(args);
        c.env_remove("LG_USERNAME").env_remove("LG_PLACE");
        if let Some(u) = user {
            c.env("LG_USERNAME", u);
        }
        c.output().expect("run labgrid-client")
    }

    /// Like [`Lab::client`], which must succeed.
    pub fn ok(&self, user: Option<&str>, args: &[&str]) -> String {
        let out = self.client(user, args);
        assert!(
            out.status.success(),
            "labgrid-client {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Creates place `name` matching the NetworkService of `group`, with
    /// `tags` (`key=value`).
    pub fn place(&self, name: &str, group: &str, tags: &[&str]) {
        self.ok(None, &["-p", name, "create"]);
        self.ok(
            None,
            &[
                "-p",
                name,
                "add-match",
                &format!("{EXPORTER}/{group}/NetworkService"),
            ],
        );
        if !tags.is_empty() {
            let mut args = vec!["-p", name, "set-tags"];
            args.extend_from_slice(tags);
            self.ok(None, &args);
        }
    }

    /// Who holds place `name` (`HOST/USER`), from `labgrid-client show`.
    pub fn holder(&self, name: &str) -> Option<String> {
        let shown = self.ok(None, &["-p", name, "show"]);
        let line = shown
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix("acquired: "))
            .unwrap_or_else(|| panic!("no `acquired:` line in {shown}"));
        (line != "None").then(|| line.to_string())
    }

    pub fn logs(&self) -> String {
        let mut all = String::new();
        for f in [
            "coordinator.log",
            "coordinator.err",
            "exporter.log",
            "exporter.err",
        ] {
            let text = std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(20).collect();
            all.push_str(&format!("--- {f} (last lines)\n"));
            for l in tail.into_iter().rev() {
                all.push_str(l);
                all.push('\n');
            }
        }
        all
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in [self.exporter.take(), self.coordinator.take()]
            .into_iter()
            .flatten()
        {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
