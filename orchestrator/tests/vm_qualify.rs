//! `lwm qualify --board qemu-pi4`, end to end on the emulated Pi 4
//! (aarch64, Cortex-A72 under TCG): the C-level conformance and
//! threads-and-fork checks cross-built with aarch64-linux-gnu-gcc, pushed
//! into the guest, gated, and run there by the agent under lwmalloc and
//! under the guest's glibc; python3, sqlite3 and a shell pipeline with
//! identical output; a short soak by duration at constant live bytes; the
//! footprint and the gate. The bundle must verify, and QEMU must be gone.
//!
//! Boots QEMU system VMs (one per campaign: the main one and the C-level
//! one), about 4 minutes on 2 cores, so ignored by default and run by
//! `scripts/test-emulated.sh` (part of the README test command):
//! `cargo test --release -p lwm --test vm_qualify -- --ignored`

use std::path::PathBuf;
use std::time::Instant;

#[path = "support/campaign.rs"]
mod campaign;
#[path = "support/vm_processes.rs"]
mod vm_processes;

const CRITERIA: &str = r#"
[qualification]
name = "qemu-pi4-c-level"
description = "The C-level checks, real programs and a short soak on the emulated Pi 4."

[campaign]
reps = 3
warmup = 0
scale = 0.02

[[requirement]]
id = "Q-CONF-001"
description = "The C-level conformance checks pass on the board."
kind = "c-conformance"
mandatory = true

[[requirement]]
id = "Q-THR-001"
description = "Cross-thread frees and fork under threads on the board's cores, no deadlock."
kind = "threads-fork"
mandatory = true
timeout_s = 300

[[requirement]]
id = "Q-PROG-001"
description = "A shell pipeline gives the same output."
kind = "output-identical"
mandatory = true

[[requirement.command]]
name = "sh-sort"
command = "sh -c 'seq 1 3000 | sort -r | sha256sum'"

[[requirement.command]]
name = "python3"
command = "python3 -c 'd = {str(i): str(i * i) * 3 for i in range(20000)}; print(len(d), sum(map(len, d.values())), sorted(d)[-3:])'"

[[requirement.command]]
name = "sqlite3"
command = "sqlite3 :memory: 'create table t(x); with recursive c(i) as (select 1 union all select i + 1 from c where i < 20000) insert into t select i * 7 % 1000 from c; select count(*), sum(x), count(distinct x) from t;'"

# Short, so the loose thresholds catch only fast growth (see qualify_local.rs);
# the guest's cores run it under emulation, paced as on a real board.
[[requirement]]
id = "Q-SOAK-001"
description = "No fast growth of RSS at constant live bytes over a short soak in the guest."
kind = "soak"
mandatory = true
duration = "30s"
reps = 1
max_rss_slope = 300.0
max_peak_rss_per_live = 8.0

[[requirement]]
id = "Q-FOOT-001"
description = "The library fits in 20 KiB."
kind = "footprint"
mandatory = true
max_bytes = 20480

[[requirement]]
id = "Q-GATE-001"
description = "Every artifact passes the gate."
kind = "isa-gate"
mandatory = true
"#;

#[test]
#[ignore = "boots QEMU system VMs (about 4 minutes): run by scripts/test-emulated.sh"]
fn a_clean_lwmalloc_qualifies_on_the_emulated_pi4_with_its_c_level_checks_run_in_the_guest() {
    let dir: PathBuf = campaign::empty_dir("vm-qualify");
    std::fs::write(dir.join("criteria.toml"), CRITERIA).unwrap();
    let started = Instant::now();
    let out = campaign::run_in(
        &dir,
        &[
            "qualify",
            "--board",
            "qemu-pi4",
            "--criteria",
            "criteria.toml",
            "--out",
            "b",
            "--no-progress",
        ],
    );
    eprintln!("qualify took {:.0} s", started.elapsed().as_secs_f64());
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for id in [
        "Q-CONF-001",
        "Q-THR-001",
        "Q-PROG-001",
        "Q-SOAK-001",
        "Q-FOOT-001",
        "Q-GATE-001",
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("no line for {id}"));
        assert!(line.starts_with("pass"), "{line}");
    }
    let b = dir.join("b");
    // Built with the aarch64 cross compiler, run in the guest under both
    // allocators, the library proven loaded there.
    let log =
        std::fs::read_to_string(b.join("c-tests/aarch64-unknown-linux-gnu/build.txt")).unwrap();
    assert!(log.contains("aarch64-linux-gnu-gcc"), "{log}");
    for alloc in ["lwmalloc", "system"] {
        let rep = b.join(format!(
            "runs/c-tests/raw/qemu-pi4/c.stress/{alloc}/rep-000.json"
        ));
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&rep).unwrap()).unwrap();
        assert_eq!(doc["runs"][0]["ok"], true, "{doc}");
        assert_eq!(doc["environment"]["kernel"]["machine"], "aarch64", "{doc}");
        if alloc == "lwmalloc" {
            assert_eq!(doc["runs"][0]["preload"]["status"], "verified", "{doc}");
        }
    }
    let verdicts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.join("verdicts.json")).unwrap()).unwrap();
    assert_eq!(verdicts["qualified"], true);
    let ok = campaign::run_in(&dir, &["qualify", "verify", "b"]);
    assert_eq!(ok.status.code(), Some(0));
    // No QEMU of either campaign left running.
    vm_processes::assert_none_left(&b, None);
    let _ = std::fs::remove_dir_all(&dir);
}
