//! `[docker]` board profiles: the shipped container board loads as a
//! container board under qemu-user, and a container board that also says
//! how to reach it, claims other figures than qemu-user's, or mixes in a
//! VM is refused with file and line.

use std::time::Duration;

use lwm::board::{self, Access, Emulation, ProviderSpec};

#[path = "support/profile_dir.rs"]
mod profile_dir;
use profile_dir::{shipped_boards, Dir};

const BASE: &str = r#"target = "aarch64-unknown-linux-gnu"
cpu = "cortex-a72"
work_dir = "/root/lwm"
[docker]
image = "board-arm64"
"#;

#[test]
fn the_shipped_docker_board_is_a_qemu_user_container_board() {
    let b = board::load(&shipped_boards(), "docker-arm64").unwrap();
    assert_eq!(b.emulation, Emulation::User);
    assert_eq!(b.target, "aarch64-unknown-linux-gnu");
    assert_eq!(b.cpu, "cortex-a72");
    let Some(ProviderSpec::Docker(spec)) = &b.provider else {
        panic!("provider {:?}", b.provider);
    };
    assert_eq!(b.access, Access::Ssh(None), "reached over SSH once it runs");
    assert_eq!(spec.image, "board-arm64");
    let recipe = shipped_boards().join("../docker/board-arm64");
    assert!(recipe.join("Dockerfile").is_file(), "no recipe");
    for alloc in ["jemalloc", "mimalloc", "tcmalloc"] {
        let path = &b.allocators[alloc];
        assert!(path.starts_with("/usr/lib/aarch64-linux-gnu/"), "{path}");
    }
}

#[test]
fn a_docker_board_defaults_to_qemu_user_and_a_start_timeout() {
    let d = Dir::new("defaults");
    d.file("c", BASE);
    let b = board::load(&d.0, "c").unwrap();
    assert_eq!(b.emulation, Emulation::User);
    let Some(ProviderSpec::Docker(spec)) = b.provider else {
        panic!("not a container board");
    };
    assert_eq!(spec.start_timeout, Duration::from_secs(120));
    assert_eq!(spec.keepalive_s, 15);
}

#[test]
fn a_docker_board_with_a_transport_section_is_refused() {
    let d = Dir::new("transport");
    d.file(
        "c",
        &format!("{BASE}[transport]\nkind = \"ssh\"\nhost = \"x\"\n"),
    );
    let msg = d.load_err("c");
    assert!(msg.contains("c.toml"), "{msg}");
    assert!(msg.contains("[docker] board"), "{msg}");
    assert!(msg.contains("remove its [transport]"), "{msg}");
}

#[test]
fn a_docker_board_inheriting_a_transport_is_refused_naming_the_base() {
    let d = Dir::new("inherited");
    d.file(
        "_base",
        "[transport]\nkind = \"ssh\"\nhost = \"x\"\nuser = \"u\"\nuse_agent = true\n",
    );
    d.file("c", &format!("extends = \"_base\"\n{BASE}"));
    let msg = d.load_err("c");
    assert!(msg.contains("_base.toml"), "{msg}");
}

#[test]
fn a_docker_board_claiming_other_figures_than_qemu_user_is_refused_at_its_line() {
    for claim in ["none", "qemu-system"] {
        let d = Dir::new(&format!("emulation-{claim}"));
        d.file("c", &format!("emulation = \"{claim}\"\n{BASE}"));
        let msg = d.load_err("c");
        assert!(msg.contains("c.toml:1"), "{msg}");
        assert!(
            msg.contains(&format!("`qemu-user`, not `{claim}`")),
            "{msg}"
        );
    }
}

#[test]
fn bad_docker_fields_are_refused_where_they_are_set() {
    let d = Dir::new("fields");
    d.file("zero", &format!("{BASE}start_s = 0\n"));
    let msg = d.load_err("zero");
    assert!(msg.contains("zero.toml:6"), "{msg}");
    assert!(msg.contains("docker.start_s"), "{msg}");

    d.file("name", &BASE.replace("board-arm64", "../etc"));
    let msg = d.load_err("name");
    assert!(msg.contains("name.toml:5"), "{msg}");
    assert!(msg.contains("docker.image"), "{msg}");

    d.file(
        "lonely",
        "target = \"aarch64-unknown-linux-gnu\"\ncpu = \"cortex-a72\"\nwork_dir = \"/root\"\n[docker]\nstart_s = 5\n",
    );
    let msg = d.load_err("lonely");
    assert!(msg.contains("lonely.toml:5"), "{msg}");
    assert!(msg.contains("needs `docker.image`"), "{msg}");

    d.file("typo", &format!("{BASE}imagee = \"x\"\n"));
    let msg = d.load_err("typo");
    assert!(msg.contains("typo.toml:6"), "{msg}");
    assert!(msg.contains("imagee"), "{msg}");
}

#[test]
fn a_board_that_is_both_a_vm_and_a_container_is_refused() {
    let d = Dir::new("both");
    d.file("c", &format!("{BASE}[qemu]\nimage = \"qemu-pi4\"\n"));
    let msg = d.load_err("c");
    assert!(msg.contains("c.toml:"), "{msg}");
    assert!(msg.contains("[docker]") || msg.contains("[qemu]"), "{msg}");
}

#[test]
fn a_container_board_cannot_be_connected_before_it_runs() {
    let b = board::load(&shipped_boards(), "docker-arm64").unwrap();
    let err = match lwm::transport::connect(&b) {
        Ok(_) => panic!("a container board has no address before it runs"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("must be started"), "{err}");
}
