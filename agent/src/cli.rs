//! Command line: hand-parsed (no parser crate: the agent is cross-built for
//! ARMv6 and should stay small). Errors are one line, exit status 2.

use crate::doctor::{self, DoctorOptions};
use crate::invocation::{self, RunOptions, Target};
use crate::launcher::Launcher;
use crate::schema::{
    DoctorStatus, EnvironmentDocument, SummaryStatus, ENVIRONMENT_SCHEMA, SCHEMA_VERSION,
};
use std::time::Duration;

pub const USAGE: &str = "\
usage:
  lwm-agent run [OPTIONS] --workload NAME [--seed S] [--scale X] [--threads T] [--duration D]
  lwm-agent run [OPTIONS] -- COMMAND [ARGS...]
  lwm-agent doctor [--dir PATH] [--min-free-mem MIB] [--min-free-disk MIB] [BINARY...]
  lwm-agent environment
  lwm-agent --version | --help

run options:
  --allocator PATH|system  library to LD_PRELOAD, or the C library's own malloc (default: system)
  --reps N                 measured runs (default 5)
  --warmup W               warm-up runs, recorded and flagged, not summarised (default 1)
  --timeout S              kill the run's process group after S seconds (default 600; 0: none)
  --interval MS            memory sampling interval in milliseconds (default 50)
  --limit-as BYTES         run under RLIMIT_AS (suffixes K, M, G); records whether it survived
  --workload-bin PATH      the lwm-workload binary (default: next to lwm-agent, then PATH)
  --tail BYTES             bytes of the child's stdout and stderr kept in the JSON (default 16384)
  --quiet-child            do not pass the child's stderr through to ours (still captured)
  --quiet                  no progress lines on stderr
  --cwd DIR                every run starts in DIR, made if missing (default: the agent's)
  -o, --output FILE        write the JSON document to FILE instead of stdout

Output: one JSON document (schema lwm-agent.run, version see SCHEMA.md). Exit status:
0 every run ok, 1 document written but some run failed, 2 bad usage or input.";

pub enum Outcome {
    /// A document to print, and whether everything in it succeeded.
    Document(String, bool, Option<String>),
    Text(String),
}

fn parse_bytes(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, mult) = match v.char_indices().last()? {
        (i, 'K' | 'k') => (&v[..i], 1u64 << 10),
        (i, 'M' | 'm') => (&v[..i], 1 << 20),
        (i, 'G' | 'g') => (&v[..i], 1 << 30),
        _ => (v, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

struct Args {
    items: Vec<String>,
    pos: usize,
}

impl Args {
    fn next(&mut self) -> Option<String> {
        let a = self.items.get(self.pos).cloned();
        self.pos += 1;
        a
    }
    fn value(&mut self, flag: &str) -> Result<String, String> {
        self.next()
            .ok_or_else(|| format!("option {flag} needs a value"))
    }
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("option {flag}: '{v}' is not a valid number"))
}

fn parse_run(argv: Vec<String>, args: &mut Args) -> Result<RunOptions, String> {
    let mut o = RunOptions {
        argv,
        allocator: "system".into(),
        reps: 5,
        warmup: 1,
        timeout: Some(Duration::from_secs(600)),
        interval: Duration::from_millis(50),
        limit_as: None,
        tail_bytes: 16384,
        forward_stderr: true,
        quiet: false,
        cwd: None,
        target: Target::Command(Vec::new()),
    };
    let mut workload = None;
    let mut runner = None;
    let mut wl_args = Vec::new();
    let mut command = None;
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let val = |args: &mut Args| inline.clone().map(Ok).unwrap_or_else(|| args.value(&flag));
        match flag.as_str() {
            "--" => {
                command = Some(args.items[args.pos..].to_vec());
                break;
            }
            "--allocator" => o.allocator = val(args)?,
            "--reps" => {
                o.reps = num(&flag, &val(args)?)?;
                if o.reps == 0 {
                    return Err("option --reps: must be at least 1".into());
                }
            }
            "--warmup" => o.warmup = num(&flag, &val(args)?)?,
            "--timeout" => {
                let s: f64 = num(&flag, &val(args)?)?;
                if !(s >= 0.0 && s.is_finite()) {
                    return Err("option --timeout: must be a number of seconds >= 0".into());
                }
                o.timeout = (s > 0.0).then(|| Duration::from_secs_f64(s));
            }
            "--interval" => {
                let ms: u64 = num(&flag, &val(args)?)?;
                if ms == 0 {
                    return Err("option --interval: must be at least 1 ms".into());
                }
                o.interval = Duration::from_millis(ms);
            }
            "--limit-as" => {
                let v = val(args)?;
                o.limit_as = Some(
                    parse_bytes(&v)
                        .ok_or_else(|| format!("option --limit-as: '{v}' is not a byte count"))?,
                );
            }
            "--tail" => o.tail_bytes = num(&flag, &val(args)?)?,
            "--workload" => workload = Some(val(args)?),
            "--workload-bin" => runner = Some(val(args)?),
            "--seed" | "--scale" | "--threads" | "--duration" => {
                let v = val(args)?;
                wl_args.push(flag.clone());
                wl_args.push(v);
            }
            "--quiet-child" => o.forward_stderr = false,
            "--quiet" => o.quiet = true,
            "--cwd" => o.cwd = Some(val(args)?),
            _ => return Err(format!("run: unknown option '{a}' (see lwm-agent --help)")),
        }
    }
    o.target = match (workload, command) {
        (Some(_), Some(_)) => {
            return Err("run: give either --workload NAME or -- COMMAND, not both".into())
        }
        (Some(name), None) => Target::Workload {
            name,
            args: wl_args,
            runner,
        },
        (None, Some(cmd)) if !cmd.is_empty() => {
            if !wl_args.is_empty() {
                return Err(
                    "run: --seed, --scale, --threads and --duration apply to --workload only"
                        .into(),
                );
            }
            Target::Command(cmd)
        }
        _ => {
            return Err("run: nothing to run: give --workload NAME or -- COMMAND [ARGS...]".into())
        }
    };
    Ok(o)
}

/// Run the command line `argv`. `launcher`: the process that starts the
/// measured children of `run`, forked by `main` before anything else (see
/// `launcher`); None starts one when needed.
pub fn dispatch(argv: Vec<String>, launcher: Option<Launcher>) -> Result<Outcome, String> {
    let mut args = Args {
        items: argv.clone(),
        pos: 1,
    };
    let sub = args.next().unwrap_or_default();
    match sub.as_str() {
        "run" => {
            let mut output = None;
            // -o/--output may appear anywhere before `--`.
            let end = args
                .items
                .iter()
                .position(|a| a == "--")
                .unwrap_or(args.items.len());
            if let Some(i) = args.items[..end]
                .iter()
                .position(|a| a == "-o" || a == "--output")
            {
                let f = args
                    .items
                    .get(i + 1)
                    .cloned()
                    .ok_or("option --output needs a value")?;
                args.items.drain(i..i + 2);
                output = Some(f);
            }
            let opts = parse_run(argv, &mut args)?;
            let doc = invocation::execute(&opts, launcher)?;
            let ok = doc.summary.status == SummaryStatus::Ok;
            Ok(Outcome::Document(
                serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?,
                ok,
                output,
            ))
        }
        "doctor" => {
            let mut o = DoctorOptions {
                binaries: Vec::new(),
                dir: ".".into(),
                min_free_mem_mib: 128,
                min_free_disk_mib: 100,
            };
            while let Some(a) = args.next() {
                match a.as_str() {
                    "--dir" => o.dir = args.value(&a)?,
                    "--min-free-mem" => o.min_free_mem_mib = num(&a, &args.value(&a)?)?,
                    "--min-free-disk" => o.min_free_disk_mib = num(&a, &args.value(&a)?)?,
                    f if f.starts_with('-') => return Err(format!("doctor: unknown option '{f}'")),
                    _ => o.binaries.push(a),
                }
            }
            let doc = doctor::run(&o)?;
            for c in &doc.checks {
                let t = c
                    .target
                    .as_deref()
                    .map(|t| format!(" [{t}]"))
                    .unwrap_or_default();
                eprintln!(
                    "lwm-agent doctor: {:<4} {}{t}: {}",
                    c.status.as_str().to_uppercase(),
                    c.name,
                    c.detail
                );
            }
            let ok = doc.status != DoctorStatus::Failed;
            Ok(Outcome::Document(
                serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?,
                ok,
                None,
            ))
        }
        "environment" => {
            let doc = EnvironmentDocument {
                schema: ENVIRONMENT_SCHEMA.into(),
                schema_version: SCHEMA_VERSION,
                agent: invocation::agent_info(None),
                environment: crate::environment::collect(),
            };
            Ok(Outcome::Document(
                serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?,
                true,
                None,
            ))
        }
        "--version" | "-V" => Ok(Outcome::Text(format!(
            "lwm-agent {} (schema version {SCHEMA_VERSION})",
            env!("CARGO_PKG_VERSION")
        ))),
        "--help" | "-h" | "help" => Ok(Outcome::Text(USAGE.into())),
        "" => Err(format!("no command given\n{USAGE}")),
        other => Err(format!("unknown command '{other}' (see lwm-agent --help)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts() {
        assert_eq!(parse_bytes("64M"), Some(64 << 20));
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert_eq!(parse_bytes("2g"), Some(2 << 30));
        assert_eq!(parse_bytes("x"), None);
    }

    fn parse(v: &[&str]) -> Result<RunOptions, String> {
        let argv: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        let mut a = Args {
            items: argv.clone(),
            pos: 2,
        };
        parse_run(argv, &mut a)
    }

    #[test]
    fn run_arguments() {
        let o = parse(&[
            "lwm-agent",
            "run",
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
            Target::Workload { name, args, .. } => {
                assert_eq!(name, "larson");
                assert_eq!(args, ["--seed", "7", "--threads", "2"]);
            }
            _ => panic!("expected a workload"),
        }
        let o = parse(&[
            "lwm-agent",
            "run",
            "--timeout",
            "0",
            "--",
            "ls",
            "--reps",
            "9",
        ])
        .unwrap();
        assert!(o.timeout.is_none());
        assert_eq!(o.reps, 5);
        assert!(matches!(o.target, Target::Command(ref c) if c == &["ls", "--reps", "9"]));
        let o = parse(&["lwm-agent", "run", "--cwd", "/tmp/in", "--", "ls"]).unwrap();
        assert_eq!(o.cwd.as_deref(), Some("/tmp/in"));
        assert!(parse(&["lwm-agent", "run"])
            .unwrap_err()
            .contains("nothing to run"));
        assert!(parse(&["lwm-agent", "run", "--bogus"])
            .unwrap_err()
            .contains("unknown option"));
        assert!(parse(&["lwm-agent", "run", "--seed", "1", "--", "ls"])
            .unwrap_err()
            .contains("--workload only"));
        assert!(parse(&["lwm-agent", "run", "--reps", "x", "--", "ls"])
            .unwrap_err()
            .contains("not a valid number"));
    }
}
