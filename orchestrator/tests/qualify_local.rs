//! `lwm qualify` on the local board, end to end with real parts: a real
//! campaign (build, gate, push, agent runs), a real OpenSSH signature
//! (ssh-keygen), real tar. A reduced criteria file passes and its bundle
//! verifies (directory and tarball); one changed byte, an added file, a
//! manifest edited after signing and a signature by a key not allowed are
//! each named by `verify`; requirements that fail for real reasons (a
//! footprint budget below the library's size, an impossible speed-up,
//! output that depends on the allocator, a limit no program can start in)
//! are named one per line and exit 1, advisory ones not; malformed criteria
//! files are refused with one line naming file and line.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/campaign.rs"]
mod campaign;
#[path = "support/local_board.rs"]
mod local_board;

use campaign::{stderr, stdout};
use lwm::build::default_workspace as workspace;

fn scratch(tag: &str) -> PathBuf {
    campaign::empty_dir(&format!("qualify-{tag}"))
}

/// A `local` board of the test's own (`DIR/boards`, work dir `DIR/board`):
/// tests run at once, and two campaigns on one work dir are refused by
/// its lock.
fn private_local_board(dir: &Path) -> String {
    local_board::write(&dir.join("boards"), &dir.join("board"));
    dir.join("boards").to_str().unwrap().to_string()
}

fn keygen(dir: &Path, name: &str, comment: &str) -> PathBuf {
    let key = dir.join(name);
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen runs");
    assert!(st.success());
    key
}

fn allowed_signers(dir: &Path, principal: &str, key: &Path) -> PathBuf {
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let path = dir.join("allowed_signers");
    std::fs::write(&path, format!("{principal} {public}")).unwrap();
    path
}

fn copy_dir(from: &Path, to: &Path) {
    let st = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(st.success());
}

const PASSING: &str = r#"
[qualification]
name = "reduced"
description = "A reduced qualification for the test suite: short workloads, three repetitions."

[campaign]
reps = 3
warmup = 0
scale = 0.02

[[requirement]]
id = "T-PERF-001"
description = "Geometric mean time ratio within a generous bound."
kind = "performance"
mandatory = true
workloads = ["small-burst", "larson"]
max_ratio_upper = 3.0

[[requirement]]
id = "T-MEM-001"
description = "Each workload's peak RSS within a generous bound."
kind = "memory"
mandatory = true
workloads = ["small-burst", "larson"]
aggregate = "each"
max_ratio_upper = 3.0

[[requirement]]
id = "T-PROG-001"
description = "A shell pipeline gives the same output."
kind = "output-identical"
mandatory = true

[[requirement.command]]
name = "sh-sort"
command = "sh -c 'seq 1 30000 | sort -r | sha256sum'"

[[requirement]]
id = "T-OOM-001"
description = "Allocation failure under RLIMIT_AS is ENOMEM, no crash."
kind = "out-of-memory"
mandatory = true
limit_as = "256M"

[[requirement.command]]
name = "oom-probe"
command = "python3 oom_probe.py"
push = ["oom_probe.py"]

[[requirement]]
id = "T-FOOT-001"
description = "The library fits in 20 KiB."
kind = "footprint"
mandatory = true
max_bytes = 20480

[[requirement]]
id = "T-GATE-001"
description = "Every artifact passes the gate."
kind = "isa-gate"
mandatory = true

# 20 s can only show fast growth: one sample's noise, extrapolated to an
# hour, is tens of live bytes per hour. A leak shows as thousands.
[[requirement]]
id = "T-SOAK-001"
description = "No fast growth of RSS at constant live bytes over a short soak."
kind = "soak"
mandatory = true
duration = "20s"
reps = 1
max_rss_slope = 300.0
max_peak_rss_per_live = 8.0

[[requirement]]
id = "T-CONF-001"
description = "The C-level conformance checks pass on the board."
kind = "c-conformance"
mandatory = true

[[requirement]]
id = "T-THR-001"
description = "Cross-thread frees and fork under threads, no deadlock."
kind = "threads-fork"
mandatory = true
timeout_s = 120
"#;

const IDS: [&str; 9] = [
    "T-PERF-001",
    "T-MEM-001",
    "T-PROG-001",
    "T-OOM-001",
    "T-FOOT-001",
    "T-GATE-001",
    "T-SOAK-001",
    "T-CONF-001",
    "T-THR-001",
];

#[test]
fn a_clean_lwmalloc_qualifies_and_its_signed_bundle_verifies_and_tampering_is_named() {
    let dir = scratch("pass");
    std::fs::copy(
        workspace().join("qualification/oom_probe.py"),
        dir.join("oom_probe.py"),
    )
    .unwrap();
    std::fs::write(dir.join("criteria.toml"), PASSING).unwrap();
    let key = keygen(&dir, "vendor_key", "qa@vendor.example");
    let allowed = allowed_signers(&dir, "qa@vendor.example", &key);
    let bundle = dir.join("bundle");
    let boards = private_local_board(&dir);
    let out = campaign::run_in(
        &dir,
        &[
            "qualify",
            "--boards-dir",
            &boards,
            "--board",
            "local",
            "--criteria",
            "criteria.toml",
            "--sign",
            key.to_str().unwrap(),
            "--out",
            bundle.to_str().unwrap(),
            "--no-progress",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The C checks print addresses and counts: their stdout is judged by
    // its `ok` lines, not compared with the system malloc's.
    assert!(!stderr(&out).contains("command c."), "{}", stderr(&out));
    let text = stdout(&out);
    for id in IDS {
        let line = text
            .lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("no line for {id}"));
        assert!(line.starts_with("pass"), "{line}");
    }

    // The bundle's parts.
    for f in [
        "criteria.toml",
        "facts.json",
        "verdicts.json",
        "traceability.csv",
        "report.md",
        "report.html",
        "junit.xml",
        "artifacts.sha256",
        "artifacts/liblwmalloc.so",
        "MANIFEST.sha256",
        "MANIFEST.sha256.sig",
        "runs/main/manifest.json",
        "runs/main/report.html",
        "runs/soak/manifest.json",
        "runs/soak/raw/local/steady-soak/lwmalloc/rep-000.json",
        "runs/soak/raw/local/steady-soak/system/rep-000.json",
        "runs/c-tests/manifest.json",
        "runs/c-tests/raw/local/c.aligned.aligned_alloc_valid/system/rep-000.json",
        "runs/c-tests/raw/local/c.stress/lwmalloc/rep-000.json",
        "c-tests/x86_64-unknown-linux-gnu/build.txt",
        "c-tests/x86_64-unknown-linux-gnu/stress",
    ] {
        assert!(bundle.join(f).is_file(), "{f} missing from the bundle");
    }
    assert_eq!(
        std::fs::read(bundle.join("criteria.toml")).unwrap(),
        PASSING.as_bytes(),
        "the criteria as used, byte for byte"
    );
    let verdicts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("verdicts.json")).unwrap()).unwrap();
    assert_eq!(verdicts["qualified"], true);
    let reqs = verdicts["requirements"].as_array().unwrap();
    assert_eq!(reqs.len(), IDS.len());
    for r in reqs {
        assert_eq!(r["status"], "pass", "{r}");
        for c in r["checks"].as_array().unwrap() {
            for f in c["evidence"].as_array().unwrap() {
                let f = f.as_str().unwrap();
                assert!(bundle.join(f).is_file(), "evidence {f} not in the bundle");
            }
        }
    }
    // The OOM probe really ran under the limit, under both allocators.
    let rep = bundle.join("runs/main/raw/local/oom-probe/lwmalloc/rep-000.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(rep).unwrap()).unwrap();
    assert_eq!(doc["invocation"]["limit_as_bytes"], 256u64 << 20);
    assert_eq!(doc["runs"][0]["limit_as"]["survived"], true);
    assert_eq!(doc["allocator"]["kind"], "preload");
    let junit = std::fs::read_to_string(bundle.join("junit.xml")).unwrap();
    // One test case per requirement, but one per check for the C-level
    // kinds: 7 + 29 conformance checks + 6 threads-and-fork checks.
    assert!(junit.contains("tests=\"42\" failures=\"0\""), "{junit}");
    assert!(
        junit.contains("name=\"T-CONF-001: aligned/aligned_alloc_valid\""),
        "{junit}"
    );
    // Each C check ran on the board in a process of its own, under both
    // allocators, and the agent saw lwmalloc mapped in it.
    let conf = &reqs[7]["checks"].as_array().unwrap();
    assert_eq!(conf.len(), 29);
    for c in conf.iter().chain(reqs[8]["checks"].as_array().unwrap()) {
        let found = c["found"].as_str().unwrap();
        assert!(found.contains("passed under system (the control)"), "{c}");
        assert_eq!(c["evidence"].as_array().unwrap().len(), 2, "{c}");
    }
    // The gate requirement covers the check programs pushed too, each once.
    let gate: Vec<&str> = reqs[5]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(gate.len(), 3 + 7, "{gate:?}");
    assert!(
        gate.contains(&"gate: C-level check program stress"),
        "{gate:?}"
    );
    let rep = bundle.join("runs/c-tests/raw/local/c.stress/lwmalloc/rep-000.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(rep).unwrap()).unwrap();
    assert_eq!(doc["runs"][0]["preload"]["mapped"], true, "{doc}");
    assert!(doc["runs"][0]["stdout"]["tail"]
        .as_str()
        .unwrap()
        .contains("cross-thread frees"));
    let lib_sha = lwm_contract::sha256::sha256_hex(
        &std::fs::read(bundle.join("artifacts/liblwmalloc.so")).unwrap(),
    );
    let artifacts = std::fs::read_to_string(bundle.join("artifacts.sha256")).unwrap();
    assert!(
        artifacts.contains(&format!("{lib_sha}  liblwmalloc.so")),
        "{artifacts}"
    );
    let csv = std::fs::read_to_string(bundle.join("traceability.csv")).unwrap();
    assert!(
        csv.contains("T-OOM-001,mandatory,pass,out-of-memory,"),
        "{csv}"
    );
    // One soak repetition, judged on its slope and on peak / live, with
    // the system malloc's figures beside them; its samples are in the
    // bundle's raw result, about one a second for its 20 s.
    let soak = &reqs[6]["checks"];
    assert_eq!(soak.as_array().unwrap().len(), 2, "{soak}");
    for c in soak.as_array().unwrap() {
        assert_eq!(c["status"], "pass", "{c}");
        assert!(
            c["found"]
                .as_str()
                .unwrap()
                .contains("; under system: slope "),
            "{c}"
        );
    }
    assert!(
        soak[0]["threshold"] == "<= 300/h"
            && soak[0]["name"]
                .as_str()
                .unwrap()
                .contains("live bytes per hour"),
        "{soak}"
    );
    let raw: serde_json::Value = serde_json::from_slice(
        &std::fs::read(bundle.join("runs/soak/raw/local/steady-soak/lwmalloc/rep-000.json"))
            .unwrap(),
    )
    .unwrap();
    let report = &raw["runs"][0]["workload_report"];
    let samples = report["live_timeline"].as_array().unwrap();
    assert!((18..=21).contains(&samples.len()), "{report}");
    assert_eq!(report["duration_s"], 20.0, "{report}");
    // The manifest names every file but itself and its signature.
    let manifest = std::fs::read_to_string(bundle.join("MANIFEST.sha256")).unwrap();
    let listed = manifest.lines().count();
    let all = walk(&bundle).len();
    assert_eq!(listed + 2, all, "{manifest}");

    // verify: the directory and the tarball.
    let ok = campaign::run_in(
        &dir,
        &[
            "qualify",
            "verify",
            bundle.to_str().unwrap(),
            "--allowed-signers",
            allowed.to_str().unwrap(),
        ],
    );
    assert_eq!(ok.status.code(), Some(0));
    assert!(
        stdout(&ok).contains("signature good, by qa@vendor.example"),
        "{}",
        stdout(&ok)
    );
    let tarball = dir.join("bundle.tar.gz");
    let ok = campaign::run_in(
        &dir,
        &[
            "qualify",
            "verify",
            tarball.to_str().unwrap(),
            "--allowed-signers",
            allowed.to_str().unwrap(),
        ],
    );
    assert_eq!(ok.status.code(), Some(0));

    // One byte changed in a raw result, and a file added.
    let t1 = dir.join("tampered");
    copy_dir(&bundle, &t1);
    let victim = "runs/main/raw/local/larson/lwmalloc/rep-001.json";
    let mut bytes = std::fs::read(t1.join(victim)).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 1;
    std::fs::write(t1.join(victim), bytes).unwrap();
    std::fs::write(t1.join("runs/main/extra.json"), "{}").unwrap();
    let bad = campaign::run_in(
        &dir,
        &[
            "qualify",
            "verify",
            t1.to_str().unwrap(),
            "--allowed-signers",
            allowed.to_str().unwrap(),
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    let e = stderr(&bad);
    assert!(
        e.contains(&format!("{victim}: SHA-256 differs from MANIFEST.sha256")),
        "{e}"
    );
    assert!(e.contains("runs/main/extra.json: not listed"), "{e}");
    assert_eq!(e.lines().count(), 2, "exactly the two problems: {e}");

    // The same change inside a tarball is named with its path there.
    let packed = dir.join("tampered.tar.gz");
    let st = Command::new("tar")
        .arg("-czf")
        .arg(&packed)
        .arg("-C")
        .arg(&dir)
        .arg("tampered")
        .status()
        .unwrap();
    assert!(st.success());
    let bad = campaign::run_in(&dir, &["qualify", "verify", packed.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains(&format!("tampered/{victim}: SHA-256 differs")),
        "{}",
        stderr(&bad)
    );

    // The manifest edited after signing (hashes made to match a change).
    let t2 = dir.join("resigned-content");
    copy_dir(&bundle, &t2);
    let report = t2.join("report.md");
    std::fs::write(&report, "# QUALIFIED, trust me\n").unwrap();
    let new_sha = lwm_contract::sha256::sha256_hex(&std::fs::read(&report).unwrap());
    let edited: String = manifest
        .lines()
        .map(|l| {
            if l.ends_with("  report.md") {
                format!("{new_sha}  report.md\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(t2.join("MANIFEST.sha256"), edited).unwrap();
    let bad = campaign::run_in(
        &dir,
        &[
            "qualify",
            "verify",
            t2.to_str().unwrap(),
            "--allowed-signers",
            allowed.to_str().unwrap(),
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    let e = stderr(&bad);
    assert!(
        e.contains("MANIFEST.sha256.sig: does not verify against the manifest"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");

    // Signed again by a key that is not among the allowed signers.
    let t3 = dir.join("other-signer");
    copy_dir(&bundle, &t3);
    let other = keygen(&dir, "other_key", "mallory@example");
    std::fs::remove_file(t3.join("MANIFEST.sha256.sig")).unwrap();
    let st = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", "lwm-qualification@lwmalloc", "-f"])
        .arg(&other)
        .arg(t3.join("MANIFEST.sha256"))
        .status()
        .unwrap();
    assert!(st.success());
    let bad = campaign::run_in(
        &dir,
        &[
            "qualify",
            "verify",
            t3.to_str().unwrap(),
            "--allowed-signers",
            allowed.to_str().unwrap(),
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad)
            .contains("MANIFEST.sha256.sig: signed by a key that is not in the allowed signers"),
        "{}",
        stderr(&bad)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The DOM headless Chromium builds from `page` (a fresh profile in
/// `scratch`, killed after 90 s).
fn dump_dom(page: &Path, scratch: &Path) -> String {
    const CHROMIUM: &str = "/usr/bin/chromium";
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium"
    );
    let profile = scratch.join("chromium-profile");
    let out_path = scratch.join("chromium.stdout");
    let err_path = scratch.join("chromium.stderr");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("start chromium");
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > std::time::Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "chromium failed ({status}): {}",
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    let dom = std::fs::read_to_string(&out_path).unwrap();
    assert!(dom.contains("</html>"), "no DOM dumped:\n{dom}");
    dom
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

const FAILING: &str = r#"
[qualification]
name = "failing"
description = "Requirements lwmalloc cannot meet, for real reasons."

[campaign]
reps = 3
warmup = 0
scale = 0.02

[[requirement]]
id = "F-FOOT"
description = "A budget far below the library's real size."
kind = "footprint"
mandatory = true
max_bytes = 1000

[[requirement]]
id = "F-PERF"
description = "A thousandfold speed-up."
kind = "performance"
mandatory = true
workloads = ["small-burst"]
max_ratio_upper = 0.001

[[requirement]]
id = "F-PROG"
description = "A program whose output names the preloaded library."
kind = "output-identical"
mandatory = true

[[requirement.command]]
name = "says-preload"
command = '''python3 -c "import os; print(os.environ.get('LD_PRELOAD'))"'''

[[requirement]]
id = "F-OOM"
description = "A limit no interpreter starts in."
kind = "out-of-memory"
mandatory = true
limit_as = "16M"

[[requirement.command]]
name = "oom-too-tight"
command = "python3 -c 'print(1)'"

[[requirement]]
id = "F-ADVISORY"
description = "An advisory requirement that fails."
kind = "memory"
mandatory = false
workloads = ["small-burst"]
max_ratio_upper = 0.001

[[requirement]]
id = "F-SOAK"
description = "Peak RSS below the bytes the program holds live: impossible."
kind = "soak"
mandatory = true
duration = "8s"
warmup_share = 0.25
max_rss_slope = 1000.0
max_peak_rss_per_live = 0.5

[[requirement]]
id = "F-GATE"
description = "Passes."
kind = "isa-gate"
mandatory = true
"#;

#[test]
fn failing_requirements_are_named_one_per_line_and_advisory_ones_do_not_fail_the_run() {
    let dir = scratch("fail");
    std::fs::write(dir.join("criteria.toml"), FAILING).unwrap();
    let boards = private_local_board(&dir);
    let out = campaign::run_in(
        &dir,
        &[
            "qualify",
            "--boards-dir",
            &boards,
            "--board",
            "local",
            "--criteria",
            "criteria.toml",
            "--out",
            "b",
            "--no-progress",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    let failed: Vec<&str> = e
        .lines()
        .filter(|l| l.starts_with("lwm: requirement "))
        .collect();
    let ids: Vec<&str> = failed
        .iter()
        .map(|l| l.split_whitespace().nth(2).unwrap())
        .collect();
    assert_eq!(
        ids,
        ["F-FOOT", "F-PERF", "F-PROG", "F-OOM", "F-SOAK"],
        "{e}"
    );
    assert!(failed[0].contains("bytes"), "{}", failed[0]);
    assert!(
        failed[2].contains("stdout under lwmalloc differs from under system"),
        "{}",
        failed[2]
    );
    assert!(
        failed[3].contains("0 of 3 repetitions survived"),
        "{}",
        failed[3]
    );
    // The impossible peak fails, with the system malloc's figures beside
    // it; the loose slope passes.
    assert!(
        failed[4].contains("(peak RSS - RSS at start) / mean live bytes")
            && failed[4].contains("under system: slope")
            && failed[4].contains("needs <= 0.5"),
        "{}",
        failed[4]
    );
    let o = stdout(&out);
    assert!(
        o.lines()
            .any(|l| l.starts_with("fail (advisory)") && l.contains("F-ADVISORY")),
        "{o}"
    );
    assert!(
        o.lines()
            .any(|l| l.starts_with("pass") && l.contains("F-GATE")),
        "{o}"
    );
    // The bundle is sealed all the same, and says so.
    let b = dir.join("b");
    let verdicts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.join("verdicts.json")).unwrap()).unwrap();
    assert_eq!(verdicts["qualified"], false);
    let junit = std::fs::read_to_string(b.join("junit.xml")).unwrap();
    assert!(junit.contains("tests=\"7\" failures=\"5\""), "{junit}");
    // The human report as a real browser builds it.
    let dom = dump_dom(&b.join("report.html"), &dir);
    assert!(
        dom.contains("NOT QUALIFIED on board local: F-FOOT, F-PERF, F-PROG, F-OOM, F-SOAK"),
        "{dom}"
    );
    let table = dom
        .split("id=\"verdicts\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("a verdicts table");
    assert_eq!(
        table.matches("<td class=\"fail\">FAIL</td>").count(),
        6,
        "{table}"
    );
    assert_eq!(
        table.matches("<td class=\"pass\">PASS</td>").count(),
        1,
        "{table}"
    );
    // Every evidence link points at a file of the bundle.
    for link in dom.split("<a href=\"").skip(1) {
        let target = link.split('"').next().unwrap();
        if let Some(anchor) = target.strip_prefix('#') {
            assert!(dom.contains(&format!("id=\"{anchor}\"")), "{target}");
        } else {
            assert!(b.join(target).is_file(), "link to {target}: no such file");
        }
    }
    let ok = campaign::run_in(&dir, &["qualify", "verify", "b"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "an unsigned intact bundle verifies"
    );
    assert!(stdout(&ok).contains("not signed"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn malformed_criteria_files_are_refused_in_one_line_naming_file_and_line() {
    let dir = scratch("bad");
    let head = "[qualification]\nname = \"x\"\ndescription = \"y\"\n\n";
    let cases: &[(&str, String, &str)] = &[
        (
            "type.toml",
            format!("{head}[[requirement]]\nid = \"A\"\ndescription = \"d\"\nkind = \"performance\"\nmandatory = true\nworkloads = [\"larson\"]\nmax_ratio_upper = \"high\"\n"),
            "type.toml:11: ",
        ),
        (
            "unknown-field.toml",
            format!("{head}[[requirement]]\nid = \"A\"\ndescription = \"d\"\nkind = \"isa-gate\"\nmandatory = true\nthreshold = 3\n"),
            "unknown-field.toml:10: unknown field `threshold`",
        ),
        (
            "c-stray.toml",
            format!("{head}[[requirement]]\nid = \"C\"\ndescription = \"d\"\nkind = \"c-conformance\"\nmandatory = true\nmax_bytes = 3\n"),
            "c-stray.toml:5: requirement C: `max_bytes` means nothing for kind `c-conformance`",
        ),
        (
            "threads.toml",
            format!("{head}[[requirement]]\nid = \"T\"\ndescription = \"d\"\nkind = \"threads-fork\"\nmandatory = true\ntimeout_s = 0\n"),
            "threads.toml:5: requirement T: timeout_s must be at least 1",
        ),
        (
            "two-soaks.toml",
            format!("{head}[[requirement]]\nid = \"S1\"\ndescription = \"d\"\nkind = \"soak\"\nmandatory = true\nduration = \"1m\"\nmax_rss_slope = 0.1\n\n[[requirement]]\nid = \"S2\"\ndescription = \"d\"\nkind = \"soak\"\nmandatory = true\nduration = \"1m\"\nmax_rss_slope = 0.1\n"),
            "two-soaks.toml:13: requirement S2: a second soak requirement",
        ),
        (
            "soak-duration.toml",
            format!("{head}[[requirement]]\nid = \"S\"\ndescription = \"d\"\nkind = \"soak\"\nmandatory = true\nduration = \"ten minutes\"\nmax_rss_slope = 0.1\n"),
            "soak-duration.toml:5: requirement S: duration `ten minutes`: a duration from 1s to 7 days",
        ),
        (
            "soak-no-duration.toml",
            format!("{head}[[requirement]]\nid = \"S\"\ndescription = \"d\"\nkind = \"soak\"\nmandatory = true\nmax_rss_slope = 0.1\n"),
            "soak-no-duration.toml:5: requirement S: needs `duration`",
        ),
        (
            "soak-warmup.toml",
            format!("{head}[[requirement]]\nid = \"S\"\ndescription = \"d\"\nkind = \"soak\"\nmandatory = true\nduration = \"1h\"\nwarmup_share = 0.95\nmax_rss_slope = 0.1\n"),
            "soak-warmup.toml:5: requirement S: warmup_share 0.95: a fraction from 0 to below 0.9",
        ),
        (
            "soak-old.toml",
            format!("{head}[[requirement]]\nid = \"S\"\ndescription = \"d\"\nkind = \"soak\"\nmandatory = true\nduration = \"1h\"\nmax_rss_growth = 0.1\n"),
            "soak-old.toml:11: unknown field `max_rss_growth`",
        ),
        (
            "two-conf.toml",
            format!("{head}[[requirement]]\nid = \"C1\"\ndescription = \"d\"\nkind = \"c-conformance\"\nmandatory = true\n\n[[requirement]]\nid = \"C2\"\ndescription = \"d\"\nkind = \"c-conformance\"\nmandatory = false\n"),
            "two-conf.toml:11: requirement C2: a second c-conformance requirement",
        ),
        (
            "unknown-kind.toml",
            format!("{head}[[requirement]]\nid = \"K\"\ndescription = \"d\"\nkind = \"vibes\"\nmandatory = true\n"),
            "unknown-kind.toml:5: requirement K: unknown kind `vibes`",
        ),
        (
            "duplicate.toml",
            format!("{head}[[requirement]]\nid = \"D\"\ndescription = \"d\"\nkind = \"isa-gate\"\nmandatory = true\n\n[[requirement]]\nid = \"D\"\ndescription = \"d\"\nkind = \"isa-gate\"\nmandatory = true\n"),
            "duplicate.toml:11: requirement id `D` is already used at",
        ),
        (
            "stray.toml",
            format!("{head}[[requirement]]\nid = \"S\"\ndescription = \"d\"\nkind = \"footprint\"\nmandatory = true\nmax_bytes = 1\nworkloads = [\"larson\"]\n"),
            "stray.toml:5: requirement S: `workloads` means nothing for kind `footprint`",
        ),
        (
            "workload.toml",
            format!("{head}[[requirement]]\nid = \"W\"\ndescription = \"d\"\nkind = \"memory\"\nmandatory = true\nworkloads = [\"larsen\"]\nmax_ratio_upper = 1.1\n"),
            "workload.toml:5: requirement W: unknown workload `larsen`",
        ),
        (
            "syntax.toml",
            format!("{head}[[requirement]\nid = \"A\"\n"),
            "syntax.toml:5: ",
        ),
    ];
    for (name, text, expected) in cases {
        std::fs::write(dir.join(name), text).unwrap();
        let out = campaign::run_in(
            &dir,
            &[
                "qualify",
                "--board",
                "local",
                "--criteria",
                name,
                "--out",
                "never",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{name}");
        let e = stderr(&out);
        assert_eq!(e.lines().count(), 1, "{name}: one line: {e}");
        assert!(e.contains(expected), "{name}: {e}");
        assert!(!dir.join("never").exists(), "{name}: nothing written");
    }
    // A signing key that cannot be read is refused before anything runs.
    std::fs::write(dir.join("ok.toml"), format!("{head}[[requirement]]\nid = \"G\"\ndescription = \"d\"\nkind = \"isa-gate\"\nmandatory = true\n")).unwrap();
    let out = campaign::run_in(
        &dir,
        &[
            "qualify",
            "--board",
            "local",
            "--criteria",
            "ok.toml",
            "--sign",
            "no-such-key",
            "--out",
            "never",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--sign no-such-key: cannot read the key"));
    assert!(!dir.join("never").exists());
    let out = campaign::run_in(
        &dir,
        &[
            "qualify",
            "--board",
            "local",
            "--criteria",
            "ok.toml",
            "--library",
            "no-such.so",
            "--out",
            "never",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no-such.so: no such file"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("never").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_default_criteria_file_parses_and_every_kind_it_names_is_decided() {
    let path = workspace().join("qualification/embedded-v1.toml");
    let c = lwm::qualify::criteria::load(&path).unwrap();
    let kinds: Vec<&str> = c.requirements.iter().map(|r| r.check.kind()).collect();
    for k in lwm::qualify::criteria::KINDS {
        assert!(kinds.contains(k), "embedded-v1 has no {k} requirement");
    }
    let s = lwm::qualify::settings_of(&c);
    lwm::limits::check_settings(&s).unwrap();
    assert_eq!(s.allocators, ["lwmalloc", "system"]);
    assert_eq!(s.workloads.len(), lwm::limits::KNOWN_WORKLOADS.len());
    // The soak runs steady-soak alone, for its duration: a quick one.
    let soak = lwm::qualify::soak_settings(&c, &s).unwrap();
    lwm::limits::check_settings(&soak).unwrap();
    assert_eq!(soak.workloads, ["steady-soak"]);
    assert_eq!(soak.duration_s, Some(600));
    assert!(!s.workloads.iter().any(|w| w == "steady-soak"));
}

/// A deliberately broken allocator, for this test only (built here, never
/// shipped, nothing of it in allocator/): glibc's malloc with a free that
/// does nothing, so every block leaks.
const LEAKY_ALLOCATOR_C: &str = r#"
#include <stddef.h>
extern void *__libc_malloc(size_t);
void *malloc(size_t n) { return __libc_malloc(n); }
void free(void *p) { (void)p; }
/* The agent proves a preload by the library's counters line at exit
 * (lwmalloc prints one) or by seeing it in /proc/PID/maps while the child
 * runs. This stand-in prints no counters, so it holds each process 200 ms
 * at load, for the agent to see it mapped in the shortest C checks. */
#include <unistd.h>
__attribute__((constructor)) static void hold_for_the_agent(void) { usleep(200000); }
"#;

const AGAINST_BROKEN: &str = r#"
[qualification]
name = "broken-variant"
description = "What a leaking allocator must fail, and what it must not."

[campaign]
reps = 3
warmup = 0
scale = 0.02

[[requirement]]
id = "B-MEM"
description = "Peak RSS per workload within 1.5 times the system malloc's."
kind = "memory"
mandatory = true
workloads = ["small-burst", "larson"]
aggregate = "each"
max_ratio_upper = 1.5

[[requirement]]
id = "B-PROG"
description = "A shell pipeline gives the same output."
kind = "output-identical"
mandatory = true

[[requirement.command]]
name = "sh-sort"
command = "sh -c 'seq 1 30000 | sort -r | sha256sum'"

[[requirement]]
id = "B-OOM"
description = "Memory freed at the limit is usable again."
kind = "out-of-memory"
mandatory = true
limit_as = "256M"

[[requirement.command]]
name = "oom-probe"
command = "python3 oom_probe.py"
push = ["oom_probe.py"]

[[requirement]]
id = "B-FOOT"
description = "Small."
kind = "footprint"
mandatory = true
max_bytes = 1000000

[[requirement]]
id = "B-GATE"
description = "Built for the board."
kind = "isa-gate"
mandatory = true

[[requirement]]
id = "B-SOAK"
description = "No growth of RSS at constant live bytes."
kind = "soak"
mandatory = true
duration = "8s"
warmup_share = 0.25
max_rss_slope = 1000.0
max_peak_rss_per_live = 8.0

[[requirement]]
id = "B-CONF"
description = "The C-level conformance checks pass (a leak breaks none of them)."
kind = "c-conformance"
mandatory = true
"#;

/// Builds C `source` (written to `dir/name`) into `dir/libNAME.so` with
/// the host's cc: a broken allocator variant of this test only.
fn test_library(dir: &Path, name: &str, source: &str) -> PathBuf {
    let c = dir.join(name);
    std::fs::write(&c, source).unwrap();
    let lib = dir.join(format!("lib{}.so", name.trim_end_matches(".c")));
    let st = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&lib)
        .arg(&c)
        .status()
        .expect("cc runs");
    assert!(st.success(), "cc {name}");
    lib
}

#[test]
fn a_broken_allocator_that_leaks_on_free_fails_exactly_the_requirements_it_breaks() {
    let dir = scratch("broken");
    let lib = test_library(&dir, "leaky.c", LEAKY_ALLOCATOR_C);
    std::fs::copy(
        workspace().join("qualification/oom_probe.py"),
        dir.join("oom_probe.py"),
    )
    .unwrap();
    std::fs::write(dir.join("criteria.toml"), AGAINST_BROKEN).unwrap();
    // A board of its own: the broken library must never land in the work
    // directory of the shipped `local` board, which tests running at the
    // same time use.
    std::fs::create_dir_all(dir.join("boards")).unwrap();
    std::fs::write(
        dir.join("boards/local-broken.toml"),
        format!(
            "description = \"this machine, a work dir for the broken variant only\"\n\
             target = \"host\"\ncpu = \"native\"\nwork_dir = \"{}\"\n\
             [transport]\nkind = \"local\"\n",
            dir.join("board").display()
        ),
    )
    .unwrap();
    let out = campaign::run_in(
        &dir,
        &[
            "--boards-dir",
            "boards",
            "qualify",
            "--board",
            "local-broken",
            "--criteria",
            "criteria.toml",
            "--library",
            lib.to_str().unwrap(),
            "--out",
            "b",
            "--no-progress",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    let ids: Vec<&str> = e
        .lines()
        .filter(|l| l.starts_with("lwm: requirement "))
        .map(|l| l.split_whitespace().nth(2).unwrap())
        .collect();
    assert_eq!(ids, ["B-MEM", "B-OOM", "B-SOAK"], "{e}");
    // The C-level conformance checks do not test for leaks: every one of
    // them passes, under the broken library and under the control.
    assert!(
        stdout(&out).lines().any(|l| l.starts_with("pass")
            && l.contains("B-CONF")
            && l.contains("all 29 checks passed")),
        "{}",
        stdout(&out)
    );
    // The library qualified is the one given, byte for byte.
    let b = dir.join("b");
    assert_eq!(
        std::fs::read(b.join("artifacts/liblwmalloc.so")).unwrap(),
        std::fs::read(&lib).unwrap()
    );
    // The control of the OOM requirement passed: the probe is sound, the
    // allocator is not.
    let verdicts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.join("verdicts.json")).unwrap()).unwrap();
    let oom = verdicts["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "B-OOM")
        .unwrap();
    let statuses: Vec<&str> = oom["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["fail", "pass"], "{oom}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A second broken allocator for this test only: `aligned_alloc` that
/// ignores the alignment asked for (glibc's malloc, 16-byte aligned), and
/// so also accepts alignments that are not powers of two.
const UNDER_ALIGNING_C: &str = r#"
#include <stddef.h>
extern void *__libc_malloc(size_t);
void *aligned_alloc(size_t alignment, size_t n) { (void)alignment; return __libc_malloc(n); }
/* The agent proves a preload by the library's counters line at exit
 * (lwmalloc prints one) or by seeing it in /proc/PID/maps while the child
 * runs. This stand-in prints no counters, so it holds each process 200 ms
 * at load, for the agent to see it mapped in the shortest C checks. */
#include <unistd.h>
__attribute__((constructor)) static void hold_for_the_agent(void) { usleep(200000); }
"#;

const AGAINST_UNDER_ALIGNED: &str = r#"
[qualification]
name = "under-aligned-variant"
description = "What an under-aligning aligned_alloc must fail."

[campaign]
reps = 3
warmup = 0
scale = 0.02

[[requirement]]
id = "U-CONF"
description = "The C-level conformance checks pass."
kind = "c-conformance"
mandatory = true
timeout_s = 30

[[requirement]]
id = "U-GATE"
description = "Built for the board."
kind = "isa-gate"
mandatory = true
"#;

#[test]
fn a_conformance_check_that_fails_on_the_board_is_named_in_the_verdict() {
    let dir = scratch("underaligned");
    let lib = test_library(&dir, "under.c", UNDER_ALIGNING_C);
    std::fs::write(dir.join("criteria.toml"), AGAINST_UNDER_ALIGNED).unwrap();
    let boards = private_local_board(&dir);
    let out = campaign::run_in(
        &dir,
        &[
            "--boards-dir",
            &boards,
            "qualify",
            "--board",
            "local",
            "--criteria",
            "criteria.toml",
            "--library",
            lib.to_str().unwrap(),
            "--out",
            "b",
            "--no-progress",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    let failed: Vec<&str> = e
        .lines()
        .filter(|l| l.starts_with("lwm: requirement "))
        .collect();
    assert_eq!(failed.len(), 1, "{e}");
    assert!(
        failed[0].starts_with(
            "lwm: requirement U-CONF failed: aligned/aligned_alloc_valid: FAILED under lwmalloc: "
        ) && failed[0].contains("not ok ")
            && failed[0].contains(" - aligned.c:")
            && failed[0].contains("misaligned")
            && failed[0].contains("(and 1 more failed check(s))"),
        "{e}"
    );
    // Exactly the two checks it breaks, each with its `not ok` line and
    // the control passing: the checks are sound, the library is not.
    let verdicts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("b/verdicts.json")).unwrap()).unwrap();
    let conf = verdicts["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "U-CONF")
        .unwrap();
    let bad: Vec<&serde_json::Value> = conf["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    let names: Vec<&str> = bad.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["aligned/aligned_alloc_valid", "aligned/memalign_invalid"],
        "{conf}"
    );
    for c in bad {
        let found = c["found"].as_str().unwrap();
        assert!(
            found.contains("not ok ") && found.ends_with("passed under system (the control)"),
            "{c}"
        );
    }
    let junit = std::fs::read_to_string(dir.join("b/junit.xml")).unwrap();
    assert!(junit.contains("tests=\"30\" failures=\"2\""), "{junit}");
    let case = junit
        .split("<testcase ")
        .find(|c| c.contains("name=\"U-CONF: aligned/aligned_alloc_valid\""))
        .expect("a test case for the check");
    assert!(
        case.contains("<failure message=\"aligned/aligned_alloc_valid: FAILED under lwmalloc"),
        "{case}"
    );
    let csv = std::fs::read_to_string(dir.join("b/traceability.csv")).unwrap();
    assert!(
        csv.lines().any(|l| l
            .starts_with("U-CONF,mandatory,fail,c-conformance,aligned/aligned_alloc_valid,fail,")
            && l.ends_with(
                "runs/c-tests/raw/local/c.aligned.aligned_alloc_valid/lwmalloc/rep-000.json"
            )),
        "{csv}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unreachable_board_fails_the_requirements_that_need_it_naming_the_board() {
    let dir = scratch("dead");
    let key = keygen(&dir, "key", "nobody");
    std::fs::create_dir_all(dir.join("boards")).unwrap();
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    std::fs::write(
        dir.join("boards/gone.toml"),
        format!(
            "description = \"nobody home\"\ntarget = \"host\"\ncpu = \"native\"\n\
             work_dir = \"/tmp/lwm-never\"\n[transport]\nkind = \"ssh\"\nhost = \"127.0.0.1\"\n\
             port = 1\nuser = \"nobody\"\nidentity = \"{}\"\nknown_hosts = \"{}\"\n\
             [timeouts]\nconnect_s = 3\n",
            key.display(),
            dir.join("known_hosts").display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("criteria.toml"),
        "[qualification]\nname = \"n\"\ndescription = \"d\"\n[campaign]\nreps = 3\nscale = 0.02\n\
         [[requirement]]\nid = \"G-PERF\"\ndescription = \"d\"\nkind = \"performance\"\n\
         mandatory = true\nworkloads = [\"small-burst\"]\nmax_ratio_upper = 9.0\n\
         [[requirement]]\nid = \"G-FOOT\"\ndescription = \"d\"\nkind = \"footprint\"\n\
         mandatory = true\nmax_bytes = 20480\n",
    )
    .unwrap();
    let out = campaign::run_in(
        &dir,
        &[
            "--boards-dir",
            "boards",
            "qualify",
            "--board",
            "gone",
            "--criteria",
            "criteria.toml",
            "--out",
            "b",
            "--no-progress",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    let failed: Vec<&str> = e
        .lines()
        .filter(|l| l.starts_with("lwm: requirement "))
        .collect();
    assert_eq!(failed.len(), 1, "{e}");
    assert!(
        failed[0].starts_with("lwm: requirement G-PERF failed"),
        "{e}"
    );
    assert!(failed[0].contains("board gone: unreachable"), "{e}");
    // The artifacts were built and gated before the board was tried.
    assert!(stdout(&out)
        .lines()
        .any(|l| l.starts_with("pass") && l.contains("G-FOOT")));
    assert!(dir.join("b/verdicts.json").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}
