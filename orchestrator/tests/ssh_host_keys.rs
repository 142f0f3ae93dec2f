//! Host key verification against a real sshd: changed keys are always
//! refused, unknown hosts only accepted (and recorded) under accept-new,
//! and known_hosts lines are read the way OpenSSH writes them.

#[path = "support/sshd.rs"]
mod sshd;

use std::fs;
use std::process::Command;

use lwm::board::HostKeyPolicy;
use lwm::transport::{connect, ErrorKind};
use sshd::{key_part, keygen, TestSshd};

/// `SHA256:...` of a public key line, as ssh-keygen prints it.
fn fingerprint_of(pub_line: &str, dir: &std::path::Path) -> String {
    let file = dir.join("fp.pub");
    fs::write(&file, format!("{pub_line}\n")).unwrap();
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(&file)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

/// A public key that is not the server's.
fn other_key(server: &TestSshd) -> String {
    let path = server.dir.join("other_ed25519");
    if !path.exists() {
        keygen(&path, "other");
    }
    key_part(&fs::read_to_string(path.with_extension("pub")).unwrap())
}

#[test]
fn a_changed_host_key_is_refused_with_a_line_naming_board_file_and_keys() {
    let server = TestSshd::start();
    let wrong = other_key(&server);
    let kh = server.dir.join("changed_known_hosts");
    let entry = format!("[127.0.0.1]:{}", server.port);
    fs::write(
        &kh,
        format!("# test file\nexample.org {wrong}\n{entry} {wrong}\n"),
    )
    .unwrap();
    let before = fs::read_to_string(&kh).unwrap();

    for policy in [HostKeyPolicy::Strict, HostKeyPolicy::AcceptNew] {
        let board = server.board_profile_with("pi-changed", "/tmp/lwm-unused", |s| {
            s.known_hosts = kh.clone();
            s.host_key_policy = policy;
        });
        let err = connect(&board)
            .err()
            .expect("a changed host key must be refused");
        eprintln!("{err}");
        assert_eq!(err.kind(), ErrorKind::HostKeyChanged, "{err}");
        let text = err.to_string();
        assert!(!text.contains('\n'), "one line: {text}");
        let expected_start = format!(
            "board pi-changed: host key changed: ssh {}@127.0.0.1:{}: known_hosts {} line 3 has ssh-ed25519 {}, server offered ssh-ed25519 {}; refusing",
            server.user,
            server.port,
            kh.display(),
            fingerprint_of(&wrong, &server.dir),
            fingerprint_of(&server.host_key_pub, &server.dir),
        );
        assert!(
            text.starts_with(&expected_start),
            "got:      {text}\nexpected: {expected_start}"
        );
        assert_eq!(
            fs::read_to_string(&kh).unwrap(),
            before,
            "known_hosts must not change"
        );
    }
    assert!(
        !std::path::Path::new("/tmp/lwm-unused").exists(),
        "nothing may run on a refused board"
    );
}

#[test]
fn an_unknown_host_is_refused_under_strict_and_recorded_under_accept_new() {
    let server = TestSshd::start();
    // A directory that does not exist yet: accept-new creates it.
    let kh = server.dir.join("fresh/known_hosts");
    let work = server.dir.join("work");
    let strict = server.board_profile_with("pi-new", work.to_str().unwrap(), |s| {
        s.known_hosts = kh.clone()
    });

    let err = connect(&strict).err().expect("unknown host under strict");
    eprintln!("{err}");
    assert_eq!(err.kind(), ErrorKind::HostKeyUnknown, "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("board pi-new: host key unknown: "),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "[127.0.0.1]:{} is not in known_hosts",
            server.port
        )),
        "{text}"
    );
    assert!(
        text.contains(&fingerprint_of(&server.host_key_pub, &server.dir)),
        "{text}"
    );
    assert!(!kh.exists(), "strict must not write known_hosts");

    let accept = server.board_profile_with("pi-new", work.to_str().unwrap(), |s| {
        s.known_hosts = kh.clone();
        s.host_key_policy = HostKeyPolicy::AcceptNew;
    });
    let mut t = connect(&accept).unwrap_or_else(|e| panic!("{e}"));
    t.close().unwrap();
    assert_eq!(
        fs::read_to_string(&kh).unwrap(),
        format!(
            "[127.0.0.1]:{} {}\n",
            server.port,
            key_part(&server.host_key_pub)
        )
    );

    // Now known: strict connects, and accept-new does not add it twice.
    connect(&strict)
        .unwrap_or_else(|e| panic!("{e}"))
        .close()
        .unwrap();
    connect(&accept).unwrap().close().unwrap();
    assert_eq!(fs::read_to_string(&kh).unwrap().lines().count(), 1);
}

#[test]
fn a_plain_host_entry_does_not_vouch_for_another_port() {
    let server = TestSshd::start();
    let kh = server.dir.join("plain_known_hosts");
    // OpenSSH records port 22 as plain `127.0.0.1`; this server is elsewhere.
    fs::write(&kh, format!("127.0.0.1 {}\n", other_key(&server))).unwrap();
    let board =
        server.board_profile_with("pi-port", "/tmp/lwm-unused", |s| s.known_hosts = kh.clone());
    let err = connect(&board).err().expect("refused");
    eprintln!("{err}");
    assert_eq!(err.kind(), ErrorKind::HostKeyUnknown, "{err}");

    // The right key under the plain name is not enough either.
    fs::write(
        &kh,
        format!("127.0.0.1 {}\n", key_part(&server.host_key_pub)),
    )
    .unwrap();
    let err = connect(&board).err().expect("refused");
    eprintln!("{err}");
    assert_eq!(err.kind(), ErrorKind::HostKeyUnknown, "{err}");
}

#[test]
fn hashed_entries_are_checked_too() {
    let server = TestSshd::start();
    let kh = server.dir.join("hashed_known_hosts");
    let entry = format!("[127.0.0.1]:{}", server.port);
    let work = server.dir.join("work");
    let board = server.board_profile_with("pi-hashed", work.to_str().unwrap(), |s| {
        s.known_hosts = kh.clone()
    });

    for (key, expect_ok) in [
        (key_part(&server.host_key_pub), true),
        (other_key(&server), false),
    ] {
        fs::write(&kh, format!("{entry} {key}\n")).unwrap();
        let status = Command::new("ssh-keygen")
            .arg("-H")
            .arg("-f")
            .arg(&kh)
            .output()
            .unwrap();
        assert!(status.status.success());
        let text = fs::read_to_string(&kh).unwrap();
        assert!(
            text.starts_with("|1|") && !text.contains("127.0.0.1"),
            "hashed: {text}"
        );
        match connect(&board) {
            Ok(mut t) => {
                assert!(expect_ok, "a wrong hashed key was accepted");
                t.close().unwrap();
            }
            Err(e) => {
                assert!(!expect_ok, "{e}");
                assert_eq!(e.kind(), ErrorKind::HostKeyChanged, "{e}");
                assert!(e.to_string().contains("hashed entry"), "{e}");
            }
        }
    }
}

#[test]
fn a_revoked_key_is_refused_even_when_listed() {
    let server = TestSshd::start();
    let kh = server.dir.join("revoked_known_hosts");
    let key = key_part(&server.host_key_pub);
    fs::write(
        &kh,
        format!("[127.0.0.1]:{} {key}\n@revoked * {key}\n", server.port),
    )
    .unwrap();
    let board = server.board_profile_with("pi-revoked", "/tmp/lwm-unused", |s| {
        s.known_hosts = kh.clone()
    });
    let err = connect(&board).err().expect("refused");
    eprintln!("{err}");
    assert_eq!(err.kind(), ErrorKind::HostKeyChanged, "{err}");
    assert!(
        err.to_string().contains("line 2 marks the offered key"),
        "{err}"
    );
}

#[test]
fn an_unreadable_line_is_skipped_only_when_it_is_about_another_host() {
    let server = TestSshd::start();
    let kh = server.dir.join("odd_known_hosts");
    let entry = format!("[127.0.0.1]:{}", server.port);
    let good = format!("{entry} {}\n", key_part(&server.host_key_pub));
    let work = server.dir.join("work");
    let board = server.board_profile_with("pi-odd", work.to_str().unwrap(), |s| {
        s.known_hosts = kh.clone()
    });

    // libssh2 rejects a key that is too short; OpenSSH ignores such lines.
    fs::write(
        &kh,
        format!("other.example ssh-ed25519 AAAA\nbroken-line\n{good}"),
    )
    .unwrap();
    connect(&board)
        .unwrap_or_else(|e| panic!("{e}"))
        .close()
        .unwrap();

    // The same damage on a line naming this host might hide its real key.
    fs::write(&kh, format!("{entry} ssh-ed25519 AAAA\n{good}")).unwrap();
    let err = connect(&board).err().expect("refused");
    eprintln!("{err}");
    assert_eq!(err.kind(), ErrorKind::HostKeyUnknown, "{err}");
    assert!(err.to_string().contains("line 1 cannot be read"), "{err}");
}
