//! The SSH transport against a real OpenSSH server on 127.0.0.1: push with
//! skip and re-send, exec (quoting, env, status, both streams, signals),
//! timeouts that kill the remote process group, fetch.

#[path = "support/sshd.rs"]
mod sshd;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use lwm::transport::{connect, ErrorKind, PushFile, PushOutcome, Transport};
use lwm_contract::sha256::sha256_hex;
use sshd::{fresh_dir, TestSshd};

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn push_file(local: &Path, remote_rel: &str, mode: i32) -> PushFile {
    PushFile {
        local: local.to_path_buf(),
        remote_rel: remote_rel.to_string(),
        mode,
        sha256: sha256_hex(&fs::read(local).unwrap()),
    }
}

/// 2 MB of deterministic, incompressible-looking bytes.
fn binary_blob() -> Vec<u8> {
    let mut x: u64 = 0x9e3779b97f4a7c15;
    (0..2 * 1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn run(t: &mut dyn Transport, argv: &[&str]) -> lwm::transport::ExecOutput {
    t.exec(&s(argv), &[], Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn push_skip_resend_exec_and_fetch() {
    let server = TestSshd::start();
    let local = fresh_dir();
    let work_dir = server.dir.join("board/work dir"); // nested, with a space
    let board = server.board_profile("vm1", work_dir.to_str().unwrap());

    let started = Instant::now();
    let mut t = connect(&board).unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    eprintln!("connect: {:?}", started.elapsed());
    assert!(work_dir.is_dir(), "connect creates work_dir");
    assert_eq!(t.work_dir(), work_dir.to_str().unwrap());
    assert_eq!(
        t.describe(),
        format!("ssh {}@127.0.0.1:{}", server.user, server.port)
    );

    let blob = local.join("blob.bin");
    fs::write(&blob, binary_blob()).unwrap();
    let script = local.join("run.sh");
    fs::write(
        &script,
        "#!/bin/sh\nprintf 'out:%s|%s|%s\\n' \"$1\" \"$2\" \"$GREETING\"\nprintf 'err:%s\\n' \"$PWD\" >&2\nexit 3\n",
    )
    .unwrap();
    let info = local.join("info.txt");
    fs::write(&info, "version 1\n").unwrap();
    let files = vec![
        push_file(&blob, "bin/blob.bin", 0o644),
        push_file(&script, "run.sh", 0o755),
        push_file(&info, "data/sub/info.txt", 0o600),
    ];

    let started = Instant::now();
    let outcomes = t.push(&files).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("first push (2 MB + 2 small files): {:?}", started.elapsed());
    assert_eq!(
        outcomes,
        vec![
            PushOutcome::Sent {
                bytes: 2 * 1024 * 1024
            },
            PushOutcome::Sent {
                bytes: fs::metadata(&script).unwrap().len()
            },
            PushOutcome::Sent { bytes: 10 },
        ]
    );
    assert_eq!(
        fs::read(work_dir.join("bin/blob.bin")).unwrap(),
        binary_blob()
    );
    let modes = run(
        t.as_mut(),
        &[
            "stat",
            "-c",
            "%a %n",
            "bin/blob.bin",
            "run.sh",
            "data/sub/info.txt",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&modes.stdout),
        "644 bin/blob.bin\n755 run.sh\n600 data/sub/info.txt\n"
    );

    let started = Instant::now();
    let again = t.push(&files).unwrap();
    eprintln!("second push (all unchanged): {:?}", started.elapsed());
    assert_eq!(again, vec![PushOutcome::Unchanged; 3]);

    fs::write(&info, "version 2, longer\n").unwrap();
    let files = vec![
        files[0].clone(),
        files[1].clone(),
        push_file(&info, "data/sub/info.txt", 0o600),
    ];
    let third = t.push(&files).unwrap();
    assert_eq!(
        third,
        vec![
            PushOutcome::Unchanged,
            PushOutcome::Unchanged,
            PushOutcome::Sent { bytes: 18 }
        ]
    );
    assert_eq!(
        fs::read_to_string(work_dir.join("data/sub/info.txt")).unwrap(),
        "version 2, longer\n"
    );
    let leftovers: Vec<_> = fs::read_dir(work_dir.join("data/sub"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "temporary upload files left behind: {leftovers:?}"
    );

    // The pushed script, with arguments a shell would mangle and env.
    let tricky = "it's \"quoted\" $HOME `id` \\ *";
    let started = Instant::now();
    let out = t
        .exec(
            &s(&["./run.sh", "two words", tricky]),
            &[("GREETING".to_string(), "hello 'w' $USER;".to_string())],
            Duration::from_secs(30),
        )
        .unwrap();
    eprintln!("exec round trip: {:?}", started.elapsed());
    assert_eq!(out.status, Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("out:two words|{tricky}|hello 'w' $USER;\n")
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("err:{}\n", work_dir.display())
    );

    // A changed mode alone is fixed without re-sending.
    fs::set_permissions(
        work_dir.join("run.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    assert_eq!(t.push(&files[1..2]).unwrap(), vec![PushOutcome::Unchanged]);
    let mode = run(t.as_mut(), &["stat", "-c", "%a", "run.sh"]);
    assert_eq!(String::from_utf8_lossy(&mode.stdout), "755\n");

    // Fetch, relative and absolute.
    assert_eq!(
        t.fetch("data/sub/info.txt").unwrap(),
        b"version 2, longer\n"
    );
    let abs = work_dir.join("bin/blob.bin");
    let started = Instant::now();
    assert_eq!(t.fetch(abs.to_str().unwrap()).unwrap(), binary_blob());
    eprintln!("fetch 2 MB: {:?}", started.elapsed());
    let missing = t.fetch("no/such/file").unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Other, "{missing}");
    assert!(missing.to_string().contains("no/such/file"), "{missing}");

    t.close().unwrap();
    let after = t
        .exec(&s(&["true"]), &[], Duration::from_secs(5))
        .unwrap_err();
    assert_eq!(after.kind(), ErrorKind::Disconnected, "{after}");
    fs::remove_dir_all(&local).unwrap();
}

#[test]
fn a_wrong_checksum_is_refused_and_leaves_nothing_behind() {
    let server = TestSshd::start();
    let local = fresh_dir();
    let work_dir = server.dir.join("work");
    let mut t = connect(&server.board_profile("vm2", work_dir.to_str().unwrap())).unwrap();
    let file = local.join("a.txt");
    fs::write(&file, "real content\n").unwrap();
    let mut wrong = push_file(&file, "a.txt", 0o644);
    wrong.sha256 = sha256_hex(b"what the caller thought");
    let err = t.push(&[wrong]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ChecksumMismatch, "{err}");
    assert!(
        err.to_string()
            .starts_with("board vm2: checksum mismatch: "),
        "{err}"
    );
    assert!(
        err.to_string().contains(&sha256_hex(b"real content\n")),
        "{err}"
    );
    assert_eq!(
        fs::read_dir(&work_dir).unwrap().count(),
        0,
        "nothing may be left in work_dir"
    );
    fs::remove_dir_all(&local).unwrap();
}

#[test]
fn exec_reports_status_signals_and_large_output_on_both_streams() {
    let server = TestSshd::start();
    let work_dir = server.dir.join("work");
    let mut t = connect(&server.board_profile("vm3", work_dir.to_str().unwrap())).unwrap();

    // 3 MB on stderr before 3 MB on stdout: reading only stdout would
    // deadlock once stderr fills the channel window.
    let out = run(
        t.as_mut(),
        &["sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' e >&2; head -c 3000000 /dev/zero | tr '\\0' o; exit 0"],
    );
    assert_eq!(out.status, Some(0));
    assert_eq!(out.stdout.len(), 3_000_000);
    assert_eq!(out.stderr.len(), 3_000_000);
    assert!(out.stdout.iter().all(|b| *b == b'o') && out.stderr.iter().all(|b| *b == b'e'));

    let killed = run(t.as_mut(), &["sh", "-c", "kill -9 $$"]);
    assert_eq!(killed.status, None, "killed by a signal");

    let missing = run(t.as_mut(), &["lwm-no-such-command"]);
    assert_eq!(missing.status, Some(127));

    // The support's cleanup finds session processes by this variable.
    let marker = run(t.as_mut(), &["printenv", "LWM_TEST_SSHD"]);
    assert_eq!(
        String::from_utf8_lossy(&marker.stdout).trim(),
        server.dir.to_str().unwrap()
    );

    let stdin = run(t.as_mut(), &["cat"]);
    assert_eq!(
        (stdin.status, stdin.stdout.len()),
        (Some(0), 0),
        "stdin is closed, not inherited"
    );

    let bad_env = t
        .exec(
            &s(&["true"]),
            &[("A-B".into(), "1".into())],
            Duration::from_secs(5),
        )
        .unwrap_err();
    assert_eq!(bad_env.kind(), ErrorKind::Other, "{bad_env}");
    // The session still works after a refused argument.
    assert_eq!(run(t.as_mut(), &["true"]).status, Some(0));
}

#[test]
fn a_timeout_kills_the_remote_process_group() {
    let server = TestSshd::start();
    let work_dir = server.dir.join("work");
    let mut t = connect(&server.board_profile("vm4", work_dir.to_str().unwrap())).unwrap();

    // The shell runs `sleep` as a child: only a group kill reaches it.
    let started = Instant::now();
    let err = t
        .exec(
            &s(&["sh", "-c", "sleep 29.7531; echo never"]),
            &[],
            Duration::from_secs(1),
        )
        .unwrap_err();
    eprintln!("timeout 1 s returned after {:?}", started.elapsed());
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        err.to_string().contains("killed the remote process group"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the timeout did not cut the command short"
    );

    let mut remaining = String::new();
    for _ in 0..25 {
        let check = run(t.as_mut(), &["pgrep", "-f", "sleep 29[.]7531"]);
        remaining = String::from_utf8_lossy(&check.stdout).into_owned();
        if check.status == Some(1) {
            return; // no such process any more
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("the remote sleep survived the timeout: pids {remaining}");
}

#[test]
fn keepalives_do_not_cut_a_long_quiet_command() {
    let server = TestSshd::start();
    let work_dir = server.dir.join("work");
    // keepalive 1 s (libssh2 makes it 2 s): silence limit 8 s < 9 s sleep.
    let board = server.board_profile_with("vm5", work_dir.to_str().unwrap(), |s| s.keepalive_s = 1);
    let mut t = connect(&board).unwrap();
    let out = run(t.as_mut(), &["sh", "-c", "sleep 9; echo done"]);
    assert_eq!(
        (out.status, out.stdout.as_slice()),
        (Some(0), &b"done\n"[..])
    );
}
