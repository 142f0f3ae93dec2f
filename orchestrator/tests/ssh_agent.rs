//! Authentication through ssh-agent (identity = None), against a real
//! ssh-agent and sshd. One test in its own binary: libssh2 finds the agent
//! through the process-wide SSH_AUTH_SOCK, which this test sets.

#[path = "support/sshd.rs"]
mod sshd;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use lwm::transport::{connect, ErrorKind};
use sshd::TestSshd;

struct Agent {
    child: Child,
}

impl Agent {
    fn start(socket: &Path) -> Agent {
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(socket)
            .stdout(Stdio::null())
            .spawn()
            .expect("run ssh-agent (openssh-client)");
        let started = Instant::now();
        while !socket.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "ssh-agent did not create its socket"
            );
            thread::sleep(Duration::from_millis(20));
        }
        Agent { child }
    }

    fn add(&self, socket: &Path, key: &Path) {
        let out = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", socket)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ssh-add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn agent_identities_are_tried_and_a_refusal_names_the_user_and_method() {
    let server = TestSshd::start();
    let work = server.dir.join("work");
    let board =
        server.board_profile_with("pi-agent", work.to_str().unwrap(), |s| s.identity = None);

    // No agent at all.
    std::env::set_var("SSH_AUTH_SOCK", server.dir.join("no-agent.sock"));
    let err = connect(&board).err().expect("no agent");
    eprintln!("{err}");
    assert_eq!(err.kind(), ErrorKind::AuthFailed, "{err}");
    assert!(err.to_string().contains("ssh-agent not reachable"), "{err}");

    // An agent holding only a key the server does not accept.
    let socket = server.dir.join("agent.sock");
    let agent = Agent::start(&socket);
    std::env::set_var("SSH_AUTH_SOCK", &socket);
    agent.add(&socket, &server.stranger_key);
    let err = connect(&board).err().expect("stranger key only");
    eprintln!("{err}");
    assert_eq!(err.kind(), ErrorKind::AuthFailed, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "user {}: the server refused all 1 ssh-agent identities",
            server.user
        )),
        "{text}"
    );

    // Adding the right key: the second identity gets in.
    agent.add(&socket, &server.user_key);
    let mut t = connect(&board).unwrap_or_else(|e| panic!("{e}"));
    let out = t
        .exec(
            &["id".to_string(), "-un".to_string()],
            &[],
            Duration::from_secs(30),
        )
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), server.user);
    t.close().unwrap();
}
