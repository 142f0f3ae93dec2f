//! `[labgrid]` in board profiles and the profile of `labgrid:PLACE` made
//! from a place's tags: what loads, and every malformed table refused with
//! one line naming the file, the line and the field. No lab needed (the
//! real lab is in labgrid_board.rs).

#[path = "support/profile_dir.rs"]
mod profile_dir;

use std::collections::BTreeMap;

use lwm::board::{self, Access, HostKeyPolicy, ProviderSpec};
use profile_dir::{shipped_boards, Dir};

const HEAD: &str =
    "target = \"aarch64-unknown-linux-gnu\"\ncpu = \"cortex-a72\"\nwork_dir = \"/tmp/lwm\"\n";

fn keys() -> &'static str {
    "[transport]\nidentity = \"/keys/id\"\nknown_hosts = \"/keys/known_hosts\"\n"
}

#[test]
fn a_labgrid_profile_loads_with_only_keys_in_transport() {
    let d = Dir::new("lg-ok");
    d.file(
        "rack",
        &format!(
            "{HEAD}[labgrid]\ncoordinator = \"lab:20408\"\nplace = \"rpi4-03\"\n{}",
            keys()
        ),
    );
    let b = board::load(&d.0, "rack").unwrap();
    let Some(ProviderSpec::Labgrid(spec)) = &b.provider else {
        panic!("not a labgrid board: {:?}", b.provider);
    };
    // Reached over SSH at the NetworkService's address, known once the
    // place is acquired.
    assert_eq!(b.access, Access::Ssh(None));
    assert_eq!(spec.place, "rpi4-03");
    assert_eq!(spec.coordinator.as_deref(), Some("lab:20408"));
    assert_eq!(
        spec.ssh.identity.as_deref(),
        Some(std::path::Path::new("/keys/id"))
    );
    assert_eq!(spec.ssh.host_key_policy, HostKeyPolicy::Strict);
    let ssh = spec.ssh.at("10.0.0.7", 2222, "pi");
    assert_eq!(
        (ssh.host.as_str(), ssh.port, ssh.user.as_str()),
        ("10.0.0.7", 2222, "pi")
    );

    // Without a coordinator, one comes at run time (flag or LG_COORDINATOR).
    d.file(
        "bare",
        &format!("{HEAD}[labgrid]\nplace = \"p\"\n{}", keys()),
    );
    let b = board::load(&d.0, "bare").unwrap();
    assert!(matches!(&b.provider, Some(ProviderSpec::Labgrid(s)) if s.coordinator.is_none()));
}

#[test]
fn malformed_labgrid_tables_are_refused_naming_file_line_and_field() {
    let d = Dir::new("lg-bad");
    let cases: &[(&str, String, &[&str])] = &[
        (
            "unknown-field",
            format!("{HEAD}[labgrid]\nplace = \"p\"\nplaec = \"q\"\n{}", keys()),
            &["unknown-field.toml:", "plaec"],
        ),
        (
            "no-place",
            format!("{HEAD}[labgrid]\ncoordinator = \"lab\"\n{}", keys()),
            &[
                "no-place.toml:5",
                "labgrid.coordinator",
                "needs `labgrid.place`",
            ],
        ),
        (
            "host-given",
            format!(
                "{HEAD}[labgrid]\nplace = \"p\"\n{}host = \"pi4.local\"\n",
                keys()
            ),
            &["host-given.toml:9", "transport.host", "NetworkService"],
        ),
        (
            "port-given",
            format!("{HEAD}[labgrid]\nplace = \"p\"\n{}port = 22\n", keys()),
            &["port-given.toml:9", "transport.port"],
        ),
        (
            "local-kind",
            format!("{HEAD}[labgrid]\nplace = \"p\"\n[transport]\nkind = \"local\"\n"),
            &["local-kind.toml:7", "transport.kind", "ssh"],
        ),
        (
            "bad-place",
            format!("{HEAD}[labgrid]\nplace = \"my place\"\n{}", keys()),
            &["bad-place.toml:5", "labgrid.place", "my place"],
        ),
        (
            "bad-port",
            format!(
                "{HEAD}[labgrid]\nplace = \"p\"\ncoordinator = \"lab:0\"\n{}",
                keys()
            ),
            &["bad-port.toml:6", "labgrid.coordinator", "port `0`"],
        ),
        (
            "spaces",
            format!(
                "{HEAD}[labgrid]\nplace = \"p\"\ncoordinator = \"lab host\"\n{}",
                keys()
            ),
            &["spaces.toml:6", "labgrid.coordinator"],
        ),
        (
            "no-key",
            format!("{HEAD}[labgrid]\nplace = \"p\"\n"),
            &["no-key.toml", "identity", "use_agent"],
        ),
        (
            "with-qemu",
            format!("{HEAD}[labgrid]\nplace = \"p\"\n[qemu]\nimage = \"qemu-pi4\"\n"),
            &["with-qemu.toml:", "labgrid place", "not both"],
        ),
        (
            "wrong-type",
            format!("{HEAD}[labgrid]\nplace = 7\n{}", keys()),
            &["wrong-type.toml:5", "labgrid.place"],
        ),
    ];
    for (name, text, parts) in cases {
        d.file(name, text);
        let msg = d.load_err(name);
        for part in *parts {
            assert!(msg.contains(part), "{name}: `{part}` missing from: {msg}");
        }
    }
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn a_place_profile_comes_from_tags_over_the_shipped_base() {
    let b = board::place_profile(
        &shipped_boards(),
        "rpi4-03",
        "lab:20408",
        &tags(&[
            ("lwm_target", "aarch64-unknown-linux-gnu"),
            ("lwm_cpu", "cortex-a72"),
            ("lwm_glibc", "2.36"),
            ("lwm_work_dir", "/home/pi/lwm"),
            ("owner", "firmware-team"),
        ]),
    )
    .unwrap();
    assert_eq!(b.name, "labgrid:rpi4-03");
    assert_eq!(b.target, "aarch64-unknown-linux-gnu");
    assert_eq!(b.cpu, "cortex-a72");
    assert_eq!(b.glibc.as_deref(), Some("2.36"));
    assert_eq!(b.work_dir, "/home/pi/lwm");
    // From boards/_labgrid.toml.
    assert_eq!(
        b.allocators.get("jemalloc").map(String::as_str),
        Some("/usr/lib/aarch64-linux-gnu/libjemalloc.so.2")
    );
    let Some(ProviderSpec::Labgrid(spec)) = &b.provider else {
        panic!("{:?}", b.provider);
    };
    assert_eq!(spec.place, "rpi4-03");
    assert_eq!(spec.coordinator.as_deref(), Some("lab:20408"));
    assert!(spec.ssh.known_hosts.ends_with(".ssh/known_hosts"));

    // Without lwm_work_dir, the base's work_dir.
    let b = board::place_profile(
        &shipped_boards(),
        "x86-01",
        "lab",
        &tags(&[
            ("lwm_target", "x86_64-unknown-linux-gnu"),
            ("lwm_cpu", "native"),
        ]),
    )
    .unwrap();
    assert_eq!(b.work_dir, "/tmp/lwm");
}

#[test]
fn bad_or_missing_tags_are_refused_in_one_line() {
    let boards = shipped_boards();
    for (t, parts) in [
        (
            tags(&[("lwm_cpu", "cortex-a72")]),
            vec!["board labgrid:p", "no tag `lwm_target`", "set-tags"],
        ),
        (
            tags(&[("lwm_target", "aarch64-unknown-linux-gnu")]),
            vec!["board labgrid:p", "no tag `lwm_cpu`"],
        ),
        (
            tags(&[
                ("lwm_target", "aarch64-unknown-linux-gnu"),
                ("lwm_cpu", "pentium"),
            ]),
            vec!["labgrid:p (tags of place p)", "unknown CPU `pentium`"],
        ),
        (
            tags(&[
                ("lwm_target", "mips-unknown-linux-gnu"),
                ("lwm_cpu", "native"),
            ]),
            vec!["labgrid:p (tags of place p)", "unsupported target"],
        ),
        (
            tags(&[
                ("lwm_target", "aarch64-unknown-linux-gnu"),
                ("lwm_cpu", "cortex-a72"),
                ("lwm_work_dir", "relative/dir"),
            ]),
            vec!["labgrid:p (tags of place p)", "work_dir", "absolute"],
        ),
    ] {
        let msg = board::place_profile(&boards, "p", "lab", &t)
            .expect_err("refused")
            .to_string();
        assert!(!msg.contains('\n'), "one line: {msg}");
        for part in parts {
            assert!(msg.contains(part), "`{part}` missing from: {msg}");
        }
    }
}

#[test]
fn coordinator_addresses() {
    for ok in ["lab", "lab:20408", "127.0.0.1:1", "[::1]:20408", "::1"] {
        assert_eq!(board::check_coordinator(ok), Ok(()), "{ok}");
    }
    for bad in ["", "lab:", "lab:x", "lab:70000", "lab :1", "[::1]:0"] {
        assert!(board::check_coordinator(bad).is_err(), "{bad:?} accepted");
    }
}
