//! Boards in a real labgrid lab on 127.0.0.1: labgrid 26.0.1 from PyPI
//! (scripts/setup-labgrid.sh), a coordinator and an exporter whose
//! NetworkService resources are real OpenSSH servers on loopback.
//!
//! - two places at once in one `lwm eval`: one through a `[labgrid]`
//!   profile, one as `labgrid:PLACE` (target and CPU from its tags, the
//!   coordinator from LG_COORDINATOR), host keys checked strictly; both
//!   places held while the boards run and released afterwards;
//! - a place another client holds: refused at the door (exit 2, one line
//!   naming the board, its file, the place and the holder), nothing run;
//! - an unknown place, an unreachable coordinator, a missing coordinator:
//!   one-line refusals, exit 2;
//! - Ctrl-C (SIGINT to lwm) mid-campaign: exit 130, results kept, the
//!   place released.

#[path = "support/campaign.rs"]
mod campaign;
#[path = "support/labgrid_lab.rs"]
mod labgrid_lab;
#[path = "support/sshd.rs"]
mod sshd;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use labgrid_lab::Lab;
use sshd::TestSshd;

/// The host's triple: the `lwm_target` tag of the test places.
fn host_triple() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

/// `lwm ARGS` in `dir` with LG_COORDINATOR set to `coordinator` (if any)
/// and labgrid's identity this user's.
fn lwm(dir: &Path, coordinator: Option<&str>, args: &[&str]) -> std::process::Command {
    let mut c = campaign::lwm(dir, args);
    c.env_remove("LG_USERNAME").env_remove("LG_COORDINATOR");
    if let Some(a) = coordinator {
        c.env("LG_COORDINATOR", a);
    }
    c
}

fn run(dir: &Path, coordinator: Option<&str>, args: &[&str]) -> Output {
    let out = lwm(dir, coordinator, args).output().expect("lwm runs");
    eprintln!(
        "lwm {args:?} -> {:?}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The last line of stderr, which must be lwm's only complaint.
fn refusal(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    lines[0].to_string()
}

/// Two sshds that both let in server A's user key, and one known_hosts
/// file with both host keys.
fn two_servers(dir: &Path) -> (TestSshd, TestSshd, std::path::PathBuf) {
    let a = TestSshd::start();
    let b = TestSshd::start();
    let key = std::fs::read_to_string(a.user_key.with_extension("pub")).unwrap();
    std::fs::write(b.dir.join("authorized_keys"), key).unwrap();
    let known_hosts = dir.join("known_hosts");
    let both = format!(
        "{}{}",
        std::fs::read_to_string(&a.known_hosts_path).unwrap(),
        std::fs::read_to_string(&b.known_hosts_path).unwrap()
    );
    std::fs::write(&known_hosts, both).unwrap();
    (a, b, known_hosts)
}

/// `boards/lab-a.toml` (a `[labgrid]` profile naming its coordinator) and
/// `boards/_labgrid.toml` (the base of `labgrid:PLACE` boards).
fn write_profiles(dir: &Path, lab: &Lab, key: &Path, known_hosts: &Path) {
    let transport = format!(
        "[transport]\nidentity = \"{}\"\nknown_hosts = \"{}\"\nhost_key_policy = \"strict\"\nkeepalive_s = 2\n\n[timeouts]\nconnect_s = 5\nrun_s = 120\n",
        key.display(),
        known_hosts.display()
    );
    let a = format!(
        "description = \"labgrid place lwm-a (test)\"\ntarget = \"host\"\ncpu = \"native\"\nwork_dir = \"{}\"\n\n[labgrid]\ncoordinator = \"{}\"\nplace = \"lwm-a\"\n\n{transport}",
        dir.join("work-a").display(),
        lab.address
    );
    std::fs::write(dir.join("boards/lab-a.toml"), a).unwrap();
    let base = format!(
        "work_dir = \"{}\"\n\n{}",
        dir.join("work-b").display(),
        transport.replace("[transport]\n", "[transport]\nkind = \"ssh\"\n")
    );
    std::fs::write(dir.join("boards/_labgrid.toml"), base).unwrap();
}

const SMALL: &[&str] = &[
    "--workloads",
    "small-burst",
    "--allocators",
    "lwmalloc,system",
    "--warmup",
    "0",
    "--scale",
    "0.02",
    "--no-progress",
];

#[test]
fn two_places_in_parallel_and_every_refusal() {
    let dir = campaign::scratch("labgrid-two");
    let (a, b, known_hosts) = two_servers(&dir);
    let user = a.user.clone();
    let lab = Lab::start(
        "two",
        &[
            ("board-a", "127.0.0.1", a.port, &user),
            ("board-b", "127.0.0.1", b.port, &user),
        ],
    );
    let target_tag = format!("lwm_target={}", host_triple());
    lab.place("lwm-a", "board-a", &[]);
    lab.place("lwm-b", "board-b", &[&target_tag, "lwm_cpu=native"]);
    lab.place("lwm-untagged", "board-b", &[]);
    write_profiles(&dir, &lab, &a.user_key, &known_hosts);

    // A full campaign on both places at once.
    let started = Instant::now();
    let mut args = vec![
        "eval",
        "--board",
        "lab-a",
        "--board",
        "labgrid:lwm-b",
        "--reps",
        "2",
        "--run-id",
        "two",
    ];
    args.extend_from_slice(SMALL);
    let out = run(&dir, Some(&lab.address), &args);
    assert!(
        out.status.success(),
        "sshd A:\n{}\nsshd B:\n{}\n{}",
        a.log(),
        b.log(),
        lab.logs()
    );
    eprintln!("campaign on two places: {:?}", started.elapsed());
    let run_dir = dir.join("results/two");
    let m = campaign::manifest(&run_dir);
    let boards = m["boards"].as_array().unwrap();
    assert_eq!(boards.len(), 2, "{m}");
    for bm in boards {
        assert_eq!(bm["status"], "done", "{bm}");
        assert_eq!(bm["target"], host_triple().as_str(), "{bm}");
        assert_eq!(bm["cpu"], "native", "{bm}");
    }
    let docs = campaign::rep_docs(&run_dir);
    for board in ["lab-a", "labgrid:lwm-b"] {
        let mine = docs
            .keys()
            .filter(|k| k.starts_with(&format!("raw/{board}/")))
            .count();
        assert_eq!(mine, 2 * 2, "{board}: {:#?}", docs.keys());
    }
    // Each board went through its own place's NetworkService.
    let acquired = campaign::events_named(&run_dir, "labgrid_acquired");
    let released = campaign::events_named(&run_dir, "labgrid_released");
    assert_eq!(acquired.len(), 2, "{acquired:?}");
    assert_eq!(released.len(), 2, "{released:?}");
    for (board, place, port) in [
        ("lab-a", "lwm-a", a.port),
        ("labgrid:lwm-b", "lwm-b", b.port),
    ] {
        let e = acquired
            .iter()
            .find(|e| e["board"] == board)
            .unwrap_or_else(|| panic!("no labgrid_acquired for {board}: {acquired:?}"));
        assert_eq!(e["place"], place, "{e}");
        assert_eq!(e["ssh"], format!("{user}@127.0.0.1:{port}").as_str(), "{e}");
        assert_eq!(
            e["network_service"],
            format!(
                "{}/board-{}/NetworkService/NetworkService",
                labgrid_lab::EXPORTER,
                &place[4..]
            )
            .as_str(),
            "{e}"
        );
        assert!(released.iter().any(|r| r["place"] == place), "{released:?}");
    }
    // Both servers saw the kit log in.
    for (name, server) in [("A", &a), ("B", &b)] {
        assert!(
            server.log().contains("Accepted publickey"),
            "sshd {name} saw no login:\n{}",
            server.log()
        );
    }
    assert_eq!(
        lab.holder("lwm-a"),
        None,
        "lwm-a still held after the campaign"
    );
    assert_eq!(
        lab.holder("lwm-b"),
        None,
        "lwm-b still held after the campaign"
    );

    // Someone else holds lwm-a: refused at the door, nothing run.
    lab.ok(Some("intruder"), &["-p", "lwm-a", "acquire"]);
    let holder = lab.holder("lwm-a").expect("intruder holds lwm-a");
    assert!(holder.ends_with("/intruder"), "{holder}");
    let mut args = vec![
        "eval", "--board", "lab-a", "--reps", "1", "--run-id", "held",
    ];
    args.extend_from_slice(SMALL);
    let out = run(&dir, None, &args);
    assert_eq!(out.status.code(), Some(2));
    let line = refusal(&out);
    for part in ["board lab-a", "lab-a.toml", "labgrid place lwm-a", &holder] {
        assert!(line.contains(part), "`{part}` missing from: {line}");
    }
    assert!(
        !dir.join("results/held").exists(),
        "a refused run made a directory"
    );
    assert_eq!(
        lab.holder("lwm-a").as_deref(),
        Some(holder.as_str()),
        "lwm took the place"
    );
    // `lwm build` needs no free place: it reads the tags and builds.
    lab.ok(Some("intruder"), &["-p", "lwm-b", "acquire"]);
    let out = run(
        &dir,
        Some(&lab.address),
        &["build", "--board", "labgrid:lwm-b"],
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("gate passed for board labgrid:lwm-b"),
        "{stderr}"
    );
    lab.ok(Some("intruder"), &["-p", "lwm-b", "release"]);
    lab.ok(Some("intruder"), &["-p", "lwm-a", "release"]);

    // A board that fails after its place was acquired (the host key is
    // unknown: strict checking refuses the NetworkService's sshd) fails
    // with exit 1, and the place is released all the same.
    let text = std::fs::read_to_string(dir.join("boards/lab-a.toml")).unwrap();
    let empty = dir.join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let strange = text.replace(
        &known_hosts.display().to_string(),
        &empty.display().to_string(),
    );
    assert_ne!(strange, text);
    std::fs::write(dir.join("boards/lab-strange.toml"), strange).unwrap();
    let mut args = vec![
        "eval",
        "--board",
        "lab-strange",
        "--reps",
        "1",
        "--run-id",
        "strange",
    ];
    args.extend_from_slice(SMALL);
    let out = run(&dir, None, &args);
    assert_eq!(out.status.code(), Some(1));
    let m = campaign::manifest(&dir.join("results/strange"));
    let error = m["boards"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(m["boards"][0]["status"], "failed", "{m}");
    assert!(
        error.contains("lab-strange") && error.contains("host key"),
        "{error}"
    );
    assert_eq!(
        campaign::events_named(&dir.join("results/strange"), "labgrid_released").len(),
        1
    );
    assert_eq!(
        lab.holder("lwm-a"),
        None,
        "lwm-a still held after a failed board"
    );

    // Door refusals, each one line with exit 2.
    let lwm_b = ["eval", "--board", "labgrid:lwm-b", "--reps", "1"];
    for (coordinator, flag, board, parts) in [
        (
            Some(lab.address.as_str()),
            None,
            "labgrid:nosuch",
            vec!["board labgrid:nosuch", "no place nosuch", "lwm-a"],
        ),
        (
            Some(lab.address.as_str()),
            None,
            "labgrid:lwm-untagged",
            vec![
                "board labgrid:lwm-untagged",
                "no tag `lwm_target`",
                "set-tags",
            ],
        ),
        (
            None,
            Some("127.0.0.1:1"),
            "labgrid:lwm-b",
            vec![
                "board labgrid:lwm-b",
                "coordinator 127.0.0.1:1 does not answer",
            ],
        ),
        (
            None,
            None,
            "labgrid:lwm-b",
            vec![
                "board labgrid:lwm-b",
                "--labgrid-coordinator",
                "LG_COORDINATOR",
            ],
        ),
        (
            None,
            Some("127.0.0.1:99999"),
            "labgrid:lwm-b",
            vec!["board labgrid:lwm-b", "port `99999`"],
        ),
    ] {
        let mut args: Vec<&str> = lwm_b.to_vec();
        args[2] = board;
        if let Some(f) = flag {
            args.extend(["--labgrid-coordinator", f]);
        }
        let out = run(&dir, coordinator, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let line = refusal(&out);
        for part in parts {
            assert!(line.contains(part), "`{part}` missing from: {line}");
        }
    }
    // A Python without labgrid.
    let out = lwm(
        &dir,
        Some(&lab.address),
        &["eval", "--board", "labgrid:lwm-b"],
    )
    .env("LWM_LABGRID_PYTHON", "/usr/bin/python3")
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let line = refusal(&out);
    assert!(
        line.contains("board labgrid:lwm-b") && line.contains("cannot import labgrid"),
        "{line}"
    );

    // The flag reaches a [labgrid] profile that names no coordinator.
    let text = std::fs::read_to_string(dir.join("boards/lab-a.toml")).unwrap();
    let without = text.replace(&format!("coordinator = \"{}\"\n", lab.address), "");
    std::fs::write(dir.join("boards/lab-c.toml"), without).unwrap();
    let mut args = vec!["eval", "--board", "lab-c", "--reps", "1"];
    args.extend_from_slice(SMALL);
    let out = run(&dir, None, &args);
    assert_eq!(out.status.code(), Some(2));
    let line = refusal(&out);
    assert!(
        line.contains("lab-c") && line.contains("LG_COORDINATOR"),
        "{line}"
    );
    let out = run(&dir, None, &["boards"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("labgrid place lwm-a on 127.0.0.1:"),
        "{listed}"
    );
    assert!(
        listed.contains("labgrid place lwm-a on $LG_COORDINATOR"),
        "{listed}"
    );
    assert_eq!(lab.holder("lwm-a"), None);
    assert_eq!(lab.holder("lwm-b"), None);
}

#[test]
fn ctrl_c_releases_the_place() {
    let dir = campaign::scratch("labgrid-ctrl-c");
    let (a, _b, known_hosts) = two_servers(&dir);
    let user = a.user.clone();
    let lab = Lab::start("ctrl-c", &[("board-a", "127.0.0.1", a.port, &user)]);
    lab.place("lwm-a", "board-a", &[]);
    write_profiles(&dir, &lab, &a.user_key, &known_hosts);

    let mut args = vec![
        "eval", "--board", "lab-a", "--reps", "200", "--run-id", "cut",
    ];
    args.extend_from_slice(SMALL);
    let mut child = lwm(&dir, None, &args)
        .stderr(Stdio::piped())
        .spawn()
        .expect("lwm runs");
    let run_dir = dir.join("results/cut");
    // Wait until the place is held and a few results are in.
    campaign::wait_until(Duration::from_secs(120), "results on lwm-a", || {
        campaign::rep_docs(&run_dir).len() >= 2
    });
    let holder = lab.holder("lwm-a").expect("lwm holds lwm-a mid-campaign");
    assert!(!holder.ends_with("/intruder"), "{holder}");
    let before = campaign::raw_files(&run_dir);
    sshd::send_signal(child.id(), libc::SIGINT);
    let status = wait_exit(&mut child);
    assert_eq!(status.code(), Some(130));
    assert_eq!(lab.holder("lwm-a"), None, "lwm-a still held after Ctrl-C");
    assert_eq!(
        campaign::events_named(&run_dir, "labgrid_released").len(),
        1,
        "{:?}",
        campaign::events(&run_dir)
    );
    campaign::assert_kept(&run_dir, &before);
    let kept = campaign::rep_docs(&run_dir).len();
    assert!(kept >= 2);

    // --resume goes through the door again, acquires the place again, and
    // a second Ctrl-C releases it again.
    let mut child = lwm(&dir, None, &["eval", "--resume", "cut", "--no-progress"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("lwm runs");
    campaign::wait_until(Duration::from_secs(120), "more results on lwm-a", || {
        campaign::rep_docs(&run_dir).len() >= kept + 2
    });
    assert!(
        lab.holder("lwm-a").is_some(),
        "the resumed campaign holds lwm-a"
    );
    assert_eq!(
        campaign::events_named(&run_dir, "labgrid_acquired").len(),
        2
    );
    sshd::send_signal(child.id(), libc::SIGINT);
    let status = wait_exit(&mut child);
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        lab.holder("lwm-a"),
        None,
        "lwm-a still held after the second Ctrl-C"
    );
    assert_eq!(
        campaign::events_named(&run_dir, "labgrid_released").len(),
        2
    );
}

/// Waits (up to 2 minutes) for `child` to exit, echoing its stderr.
fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "lwm did not stop after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(e) = child.stderr.as_mut() {
        std::io::Read::read_to_string(e, &mut stderr).unwrap();
    }
    eprintln!("lwm after SIGINT: {status:?}\n{stderr}");
    status
}
