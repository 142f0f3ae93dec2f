use super::*;
use std::time::Duration;

const AGENT: &str = "/tmp/lwm/lwm-agent";

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// `lwm-agent run ARGS...` read back.
fn parse_run(v: &[&str]) -> Result<RunRequest, String> {
    let mut argv = args(&["lwm-agent", "run"]);
    argv.extend(args(v));
    match AgentRequest::parse(&argv)? {
        AgentRequest::Run(run) => Ok(run),
        other => panic!("expected a run, got {other:?}"),
    }
}

fn round_trip(request: AgentRequest) {
    let argv = request.to_argv(AGENT);
    assert_eq!(argv[0], AGENT);
    assert_eq!(
        AgentRequest::parse(&argv).as_ref(),
        Ok(&request),
        "argv {argv:?}"
    );
}

fn command(v: &[&str]) -> RunTarget {
    RunTarget::Command(args(v))
}

#[test]
fn byte_counts() {
    assert_eq!(parse_byte_count("64M"), Some(64 << 20));
    assert_eq!(parse_byte_count("1024"), Some(1024));
    assert_eq!(parse_byte_count("2g"), Some(2 << 30));
    assert_eq!(parse_byte_count("64k"), Some(64 << 10));
    assert_eq!(parse_byte_count(" 4K "), Some(4 << 10));
    assert_eq!(parse_byte_count("x"), None);
    assert_eq!(parse_byte_count(""), None);
    assert_eq!(parse_byte_count("K"), None);
    assert_eq!(parse_byte_count("-1"), None);
    assert_eq!(parse_byte_count("99999999999999999999G"), None);
    assert_eq!(parse_byte_count("17179869184G"), None, "overflows u64");
}

#[test]
fn every_run_field_survives_the_command_line() {
    let base = RunRequest::new(command(&["ls", "-l"]));
    // Each case changes one field from the defaults, so a field that
    // to_argv leaves out or the parser drops fails its own case.
    let cases: Vec<(&str, RunRequest)> = vec![
        ("defaults", base.clone()),
        (
            "allocator",
            RunRequest {
                allocator: "/lib/x.so".into(),
                ..base.clone()
            },
        ),
        (
            "reps",
            RunRequest {
                reps: 1,
                ..base.clone()
            },
        ),
        (
            "warmup",
            RunRequest {
                warmup: 0,
                ..base.clone()
            },
        ),
        (
            "no timeout",
            RunRequest {
                timeout: None,
                ..base.clone()
            },
        ),
        (
            "timeout",
            RunRequest {
                timeout: Some(Duration::from_millis(2500)),
                ..base.clone()
            },
        ),
        (
            "interval",
            RunRequest {
                interval: Duration::from_millis(7),
                ..base.clone()
            },
        ),
        (
            "limit-as",
            RunRequest {
                limit_as: Some(64 << 20),
                ..base.clone()
            },
        ),
        (
            "tail",
            RunRequest {
                tail_bytes: 256 << 10,
                ..base.clone()
            },
        ),
        (
            "quiet-child",
            RunRequest {
                forward_stderr: false,
                ..base.clone()
            },
        ),
        (
            "quiet",
            RunRequest {
                quiet: true,
                ..base.clone()
            },
        ),
        (
            "cwd",
            RunRequest {
                cwd: Some("/tmp/lwm/in".into()),
                ..base.clone()
            },
        ),
        (
            "output",
            RunRequest {
                output: Some("out.json".into()),
                ..base.clone()
            },
        ),
        (
            "option-like command",
            RunRequest {
                target: command(&["--reps", "-o", "--"]),
                ..base.clone()
            },
        ),
    ];
    for (name, request) in cases {
        assert_ne!(name == "defaults", request != base, "{name}");
        round_trip(AgentRequest::Run(request));
    }
}

#[test]
fn every_workload_field_survives_the_command_line() {
    let full = WorkloadRun {
        name: "larson".into(),
        runner: Some("/tmp/lwm/lwm-workload".into()),
        seed: Some("7".into()),
        scale: Some("0.005".into()),
        threads: Some("2".into()),
        duration: Some("30s".into()),
    };
    round_trip(AgentRequest::Run(RunRequest::new(RunTarget::Workload(
        WorkloadRun::new("larson"),
    ))));
    round_trip(AgentRequest::Run(RunRequest::new(RunTarget::Workload(
        full.clone(),
    ))));
    let everything = RunRequest {
        allocator: "/tmp/lwm/liblwmalloc.so".into(),
        reps: 1,
        warmup: 0,
        timeout: Some(Duration::from_secs(660)),
        interval: Duration::from_millis(10),
        limit_as: Some(1 << 30),
        tail_bytes: 1,
        forward_stderr: false,
        quiet: true,
        cwd: Some("/tmp/lwm".into()),
        output: Some("/tmp/out.json".into()),
        target: RunTarget::Workload(full),
    };
    round_trip(AgentRequest::Run(everything));
}

#[test]
fn every_doctor_field_and_the_other_commands_survive_the_command_line() {
    let base = DoctorRequest::default();
    let cases = [
        base.clone(),
        DoctorRequest {
            dir: "/tmp/lwm".into(),
            ..base.clone()
        },
        DoctorRequest {
            min_free_mem_mib: 64,
            ..base.clone()
        },
        DoctorRequest {
            min_free_disk_mib: 0,
            ..base.clone()
        },
        DoctorRequest {
            binaries: args(&["/tmp/lwm/lwm-agent", "lib.so"]),
            ..base.clone()
        },
        DoctorRequest {
            binaries: args(&["-odd-name"]),
            ..base.clone()
        },
    ];
    for request in cases {
        round_trip(AgentRequest::Doctor(request));
    }
    for request in [
        AgentRequest::Environment,
        AgentRequest::Version,
        AgentRequest::Help,
    ] {
        round_trip(request);
    }
}

#[test]
fn the_host_writes_only_what_differs_from_the_defaults() {
    let mut run = RunRequest::new(RunTarget::Workload(WorkloadRun {
        runner: Some("/w/lwm-workload".into()),
        seed: Some("42".into()),
        ..WorkloadRun::new("kv")
    }));
    run.reps = 1;
    run.warmup = 0;
    run.forward_stderr = false;
    assert_eq!(
        AgentRequest::Run(run).to_argv("/w/lwm-agent"),
        args(&[
            "/w/lwm-agent",
            "run",
            "--workload",
            "kv",
            "--workload-bin",
            "/w/lwm-workload",
            "--seed",
            "42",
            "--reps",
            "1",
            "--warmup",
            "0",
            "--quiet-child",
        ])
    );
    let doctor = DoctorRequest {
        dir: "/w".into(),
        binaries: args(&["/w/lwm-agent"]),
        ..DoctorRequest::default()
    };
    assert_eq!(
        AgentRequest::Doctor(doctor).to_argv("/w/lwm-agent"),
        args(&["/w/lwm-agent", "doctor", "--dir", "/w", "/w/lwm-agent"])
    );
}

#[test]
fn run_arguments() {
    let o = parse_run(&[
        "--reps",
        "3",
        "--workload",
        "larson",
        "--seed=7",
        "--threads",
        "2",
    ])
    .unwrap();
    assert_eq!(o.reps, 3);
    match o.target {
        RunTarget::Workload(w) => {
            assert_eq!(w.name, "larson");
            assert_eq!(w.options_argv(), ["--seed", "7", "--threads", "2"]);
        }
        _ => panic!("expected a workload"),
    }
    let o = parse_run(&["--timeout", "0", "--", "ls", "--reps", "9"]).unwrap();
    assert!(o.timeout.is_none());
    assert_eq!(o.reps, 5);
    assert!(matches!(o.target, RunTarget::Command(ref c) if c == &["ls", "--reps", "9"]));
    let o = parse_run(&["--cwd", "/tmp/in", "--", "ls"]).unwrap();
    assert_eq!(o.cwd.as_deref(), Some("/tmp/in"));
    // -o may come anywhere before `--`, in either spelling.
    let o = parse_run(&["-o", "a.json", "--quiet", "--", "ls", "-o", "b"]).unwrap();
    assert_eq!(o.output.as_deref(), Some("a.json"));
    assert!(matches!(o.target, RunTarget::Command(ref c) if c == &["ls", "-o", "b"]));
    let o = parse_run(&["--workload", "kv", "--output", "c.json"]).unwrap();
    assert_eq!(o.output.as_deref(), Some("c.json"));
    // A value that looks like an option is still the option's value.
    let o = parse_run(&["--allocator", "--odd.so", "--", "ls"]).unwrap();
    assert_eq!(o.allocator, "--odd.so");
    let o = parse_run(&["--limit-as", "64M", "--timeout=1.5", "--", "ls"]).unwrap();
    assert_eq!(o.limit_as, Some(64 << 20));
    assert_eq!(o.timeout, Some(Duration::from_millis(1500)));
}

#[test]
fn bad_run_arguments_give_one_line_naming_the_option() {
    let error = |v: &[&str]| parse_run(v).unwrap_err();
    let cases: &[(&[&str], &str)] = &[
        (
            &[],
            "run: nothing to run: give --workload NAME or -- COMMAND [ARGS...]",
        ),
        (
            &["--"],
            "run: nothing to run: give --workload NAME or -- COMMAND [ARGS...]",
        ),
        (
            &["--bogus"],
            "run: unknown option '--bogus' (see lwm-agent --help)",
        ),
        (
            &["stray", "--", "ls"],
            "run: unknown option 'stray' (see lwm-agent --help)",
        ),
        (
            &["--seed", "1", "--", "ls"],
            "run: --seed, --scale, --threads and --duration apply to --workload only",
        ),
        (
            &["--workload", "kv", "--", "ls"],
            "run: give either --workload NAME or -- COMMAND, not both",
        ),
        (
            &["--reps", "x", "--", "ls"],
            "option --reps: 'x' is not a valid number",
        ),
        (
            &["--reps", "0", "--", "ls"],
            "option --reps: must be at least 1",
        ),
        (
            &["--warmup", "-1", "--", "ls"],
            "option --warmup: '-1' is not a valid number",
        ),
        (
            &["--timeout", "-1", "--", "ls"],
            "option --timeout: must be a number of seconds >= 0",
        ),
        (
            &["--timeout", "inf", "--", "ls"],
            "option --timeout: must be a number of seconds >= 0",
        ),
        (
            &["--interval", "0", "--", "ls"],
            "option --interval: must be at least 1 ms",
        ),
        (
            &["--limit-as", "lots", "--", "ls"],
            "option --limit-as: 'lots' is not a byte count",
        ),
        (
            &["--tail", "1.5", "--", "ls"],
            "option --tail: '1.5' is not a valid number",
        ),
        (&["--reps"], "option --reps needs a value"),
        (&["--workload"], "option --workload needs a value"),
        (&["-o"], "option -o needs a value"),
        (
            &["--quiet=yes", "--", "ls"],
            "option --quiet takes no value",
        ),
    ];
    for (given, expected) in cases {
        let message = error(given);
        assert_eq!(&message, expected, "{given:?}");
        assert!(!message.contains('\n'), "{given:?}");
    }
}

#[test]
fn bad_commands_and_doctor_arguments() {
    let error = |v: &[&str]| AgentRequest::parse(&args(v)).unwrap_err();
    assert!(error(&["lwm-agent"]).starts_with("no command given\nusage:"));
    assert_eq!(
        error(&["lwm-agent", "fly"]),
        "unknown command 'fly' (see lwm-agent --help)"
    );
    assert_eq!(
        error(&["lwm-agent", "doctor", "--bogus"]),
        "doctor: unknown option '--bogus'"
    );
    assert_eq!(
        error(&["lwm-agent", "doctor", "--min-free-mem", "lots"]),
        "option --min-free-mem: 'lots' is not a valid number"
    );
    assert_eq!(
        error(&["lwm-agent", "doctor", "--dir"]),
        "option --dir needs a value"
    );
    for (given, expected) in [
        ("--version", AgentRequest::Version),
        ("-V", AgentRequest::Version),
        ("--help", AgentRequest::Help),
        ("-h", AgentRequest::Help),
        ("help", AgentRequest::Help),
        ("environment", AgentRequest::Environment),
    ] {
        assert_eq!(
            AgentRequest::parse(&args(&["lwm-agent", given])),
            Ok(expected)
        );
    }
}
