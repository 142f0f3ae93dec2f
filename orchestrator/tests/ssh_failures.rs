//! How the SSH transport fails: refused keys, closed ports, something that
//! is not an SSH server, a server killed mid-command, a server that hangs.
//! Every failure must come back as the right error kind, quickly, never as
//! a hang.

#[path = "support/sshd.rs"]
mod sshd;

use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use lwm::transport::{connect, ErrorKind};
use sshd::{free_port, TestSshd};

fn argv(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn a_key_the_server_does_not_know_fails_authentication() {
    let server = TestSshd::start();
    let board = server.board_profile_with("pi-auth", "/tmp/lwm-unused", |s| {
        s.identity = Some(server.stranger_key.clone())
    });
    let err = connect(&board)
        .err()
        .expect("the stranger key must be refused");
    eprintln!("{err}");
    assert_eq!(err.kind(), ErrorKind::AuthFailed, "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("board pi-auth: authentication failed: ssh "),
        "{text}"
    );
    assert!(
        text.contains(&format!("user {}", server.user)),
        "names the user: {text}"
    );
    assert!(
        text.contains(&format!("public key {}", server.stranger_key.display())),
        "names the method: {text}"
    );

    let missing = server.dir.join("no_such_key");
    let board = server.board_profile_with("pi-auth", "/tmp/lwm-unused", |s| {
        s.identity = Some(missing.clone())
    });
    let err = connect(&board).err().expect("a missing identity file");
    eprintln!("{err}");
    assert_eq!(err.kind(), ErrorKind::AuthFailed, "{err}");
    assert!(
        err.to_string().contains("cannot read the identity file"),
        "{err}"
    );
}

#[test]
fn a_closed_port_is_unreachable_at_once() {
    let server = TestSshd::start();
    let port = free_port(); // bound and released: nothing listens there
    let board = server.board_profile_with("pi-off", "/tmp/lwm-unused", |s| s.port = port);
    let started = Instant::now();
    let err = connect(&board).err().expect("nothing listens");
    eprintln!("closed port refused after {:?}", started.elapsed());
    eprintln!("{err}");
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a refused connection must not wait for the timeout"
    );
}

#[test]
fn a_port_that_is_not_ssh_fails_the_handshake() {
    let server = TestSshd::start();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = thread::spawn(move || {
        // Accept, say something that is not an SSH banner, hang up.
        if let Ok((mut s, _)) = listener.accept() {
            use std::io::Write;
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let board = server.board_profile_with("pi-http", "/tmp/lwm-unused", |s| s.port = port);
    let err = connect(&board).err().expect("not an SSH server");
    eprintln!("{err}");
    assert_eq!(err.kind(), ErrorKind::Unreachable, "{err}");
    assert!(err.to_string().contains("SSH handshake failed"), "{err}");
    peer.join().unwrap();
}

#[test]
fn a_server_killed_mid_command_gives_disconnected_not_a_hang() {
    let mut server = TestSshd::start();
    let work = server.dir.join("work");
    let mut t = connect(&server.board_profile("pi-drop", work.to_str().unwrap())).unwrap();
    let handle = server.handle();
    let killer = thread::spawn(move || {
        thread::sleep(Duration::from_secs(1));
        handle.kill_all();
    });
    let started = Instant::now();
    let err = t
        .exec(&argv(&["sleep", "30"]), &[], Duration::from_secs(60))
        .unwrap_err();
    eprintln!("disconnect noticed after {:?}", started.elapsed());
    killer.join().unwrap();
    eprintln!("{err}");
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    assert!(
        err.to_string().starts_with("board pi-drop: disconnected: "),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );

    // Later calls fail at once with the same kind.
    let started = Instant::now();
    let again = t
        .exec(&argv(&["true"]), &[], Duration::from_secs(60))
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Disconnected, "{again}");
    assert_eq!(t.fetch("x").unwrap_err().kind(), ErrorKind::Disconnected);
    assert!(started.elapsed() < Duration::from_secs(2));
    server.stop();
}

#[test]
fn a_hung_server_is_noticed_through_unanswered_keepalives() {
    let server = TestSshd::start();
    let work = server.dir.join("work");
    let board = server.board_profile_with("pi-hung", work.to_str().unwrap(), |s| s.keepalive_s = 1);
    let mut t = connect(&board).unwrap();
    let handle = server.handle();
    let frozen = handle.clone();
    let freezer = thread::spawn(move || {
        thread::sleep(Duration::from_secs(1));
        frozen.freeze(); // TCP stays up, nothing answers
    });
    let started = Instant::now();
    let err = t
        .exec(&argv(&["sleep", "60"]), &[], Duration::from_secs(120))
        .unwrap_err();
    eprintln!("hung server noticed after {:?}", started.elapsed());
    freezer.join().unwrap();
    handle.kill_all(); // SIGKILL works on stopped processes; no thaw needed
    eprintln!("{err}");
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    assert!(err.to_string().contains("no answer to keepalives"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "took {:?}",
        started.elapsed()
    );
    drop(t); // must not block on the dead connection
}
