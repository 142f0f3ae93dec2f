//! `lwm needs ARGS`: what the `./lwm` script installs before it runs
//! `lwm ARGS`, read from the command line and the board profiles the way
//! the command itself reads them.

#[path = "support/profile_dir.rs"]
#[allow(dead_code)] // load_err is for the profile tests
mod profile_dir;

use std::process::Command;

use profile_dir::{shipped_boards, Dir};

/// The words `lwm needs -- ARGS` prints, in order.
fn needs(args: &[&str]) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_lwm"))
        .arg("needs")
        .arg("--")
        .args(args)
        .output()
        .expect("run lwm needs");
    assert!(out.status.success(), "lwm needs {args:?}: {out:?}");
    assert!(
        out.stderr.is_empty(),
        "lwm needs {args:?} wrote to stderr: {out:?}"
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn shipped_boards_need_what_their_profiles_say() {
    let dir = shipped_boards();
    let dir = dir.to_str().unwrap();
    let eval = |boards: &[&str]| {
        let mut args = vec!["--boards-dir", dir, "eval"];
        for b in boards {
            args.extend(["--board", b]);
        }
        needs(&args)
    };
    assert!(
        eval(&[]).is_empty(),
        "eval on this machine needs nothing more"
    );
    assert!(eval(&["local"]).is_empty());
    assert_eq!(eval(&["qemu-pi4", "qemu-pizero"]), ["cross", "qemu"]);
    assert_eq!(eval(&["docker-arm64"]), ["cross", "docker"]);
    assert_eq!(
        eval(&["pi4"]),
        ["cross"],
        "an SSH board needs the toolchains only"
    );
    assert_eq!(eval(&["labgrid:rack-1"]), ["cross", "labgrid"]);
    assert_eq!(
        eval(&["docker-arm64", "local", "qemu-pi4"]),
        ["cross", "qemu", "docker"],
        "each once, in install order"
    );
    // Every spelling clap accepts.
    assert_eq!(
        needs(&["--boards-dir", dir, "eval", "--board=qemu-pi4"]),
        ["cross", "qemu"]
    );
    assert_eq!(
        needs(&["--boards-dir", dir, "qualify", "--board", "qemu-pizero"]),
        ["cross", "qemu"]
    );
    assert_eq!(
        needs(&["--boards-dir", dir, "build", "--board", "docker-arm64"]),
        ["cross", "docker"]
    );
}

#[test]
fn targets_other_than_the_host_need_the_toolchains() {
    assert_eq!(
        needs(&["build", "--target", "aarch64-unknown-linux-gnu"]),
        ["cross"]
    );
    let host = lwm::build::host_triple();
    assert!(needs(&["build", "--target", &host]).is_empty());
    assert!(needs(&["build"]).is_empty());
}

#[test]
fn profiles_are_read_as_lwm_reads_them() {
    // A QEMU board by inheritance only, in a boards dir of its own: the old
    // script grepped `boards/NAME.toml` for `[qemu]` and missed both.
    let d = Dir::new("needs");
    let pi4 = std::fs::read_to_string(shipped_boards().join("qemu-pi4.toml")).unwrap();
    d.file("_emulated", &pi4)
        .file(
            "bench-vm",
            "extends = \"_emulated\"\ndescription = \"a VM by inheritance\"\n",
        )
        .file("broken", "target = [unclosed\n");
    let dir = d.0.to_str().unwrap();
    assert_eq!(
        needs(&["--boards-dir", dir, "eval", "--board", "bench-vm"]),
        ["cross", "qemu"]
    );
    // A profile that does not load is still a board other than this one;
    // the eval itself then names the file and line.
    assert_eq!(
        needs(&["--boards-dir", dir, "eval", "--board", "broken"]),
        ["cross"]
    );
    assert_eq!(
        needs(&["--boards-dir", dir, "eval", "--board", "missing"]),
        ["cross"]
    );
}

#[test]
fn arguments_that_do_not_parse_need_nothing() {
    // The command run next reports the mistake with exit status 2.
    assert!(needs(&["eval", "--no-such-flag", "--board", "qemu-pi4"]).is_empty());
    assert!(needs(&["no-such-command"]).is_empty());
    assert!(needs(&[]).is_empty());
    assert!(needs(&["qualify", "verify", "bundle.tar.gz"]).is_empty());
}
