//! The agent's side: its command line read into a request, with lexopt
//! (`--flag value`, `--flag=value`, `-o FILE`, `--`). Errors are one line
//! naming the option, as they have always been.

use super::{
    parse_byte_count, AgentRequest, DoctorRequest, RunRequest, RunTarget, WorkloadRun, USAGE,
};
use lexopt::{Arg, Parser};
use std::ffi::OsString;
use std::time::Duration;

impl AgentRequest {
    /// Reads the agent's command line; `argv[0]` is the program.
    pub fn parse(argv: &[String]) -> Result<AgentRequest, String> {
        let command = argv.get(1).map(String::as_str).unwrap_or_default();
        let options = || Parser::from_args(argv.iter().skip(2));
        match command {
            "run" => parse_run(options()).map(AgentRequest::Run),
            "doctor" => parse_doctor(options()).map(AgentRequest::Doctor),
            "environment" => Ok(AgentRequest::Environment),
            "--version" | "-V" => Ok(AgentRequest::Version),
            "--help" | "-h" | "help" => Ok(AgentRequest::Help),
            "" => Err(format!("no command given\n{USAGE}")),
            other => Err(format!("unknown command '{other}' (see lwm-agent --help)")),
        }
    }
}

/// lexopt's errors in the agent's words.
fn explain(error: lexopt::Error) -> String {
    match error {
        lexopt::Error::MissingValue {
            option: Some(option),
        } => format!("option {option} needs a value"),
        lexopt::Error::UnexpectedValue { option, .. } => format!("option {option} takes no value"),
        other => other.to_string(),
    }
}

/// One argument: an option as it is written (`--reps`, `-o`), or a plain
/// argument.
enum Item {
    Option(String),
    Plain(String),
}

fn next_item(args: &mut Parser) -> Result<Option<Item>, String> {
    Ok(match args.next().map_err(explain)? {
        None => None,
        Some(Arg::Long(name)) => Some(Item::Option(format!("--{name}"))),
        Some(Arg::Short(letter)) => Some(Item::Option(format!("-{letter}"))),
        Some(Arg::Value(value)) => Some(Item::Plain(text("argument", value)?)),
    })
}

/// `value` as text; `what` names it in the error.
fn text(what: &str, value: OsString) -> Result<String, String> {
    value
        .into_string()
        .map_err(|v| format!("{what}: '{}' is not UTF-8", v.to_string_lossy()))
}

/// The value of option `flag`, which the parser has just returned.
fn value_of(args: &mut Parser, flag: &str) -> Result<String, String> {
    text(&format!("option {flag}"), args.value().map_err(explain)?)
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("option {flag}: '{value}' is not a valid number"))
}

/// Everything after a `--` that comes next, or None if the next argument
/// is not `--`.
fn command_after_double_dash(args: &mut Parser) -> Result<Option<Vec<String>>, String> {
    let mut raw = args.raw_args().map_err(explain)?;
    if raw.next_if(|arg| arg == "--").is_none() {
        return Ok(None);
    }
    raw.map(|arg| text("command", arg))
        .collect::<Result<_, _>>()
        .map(Some)
}

fn unknown_run_option(given: &str) -> String {
    format!("run: unknown option '{given}' (see lwm-agent --help)")
}

fn parse_run(mut args: Parser) -> Result<RunRequest, String> {
    let mut request = RunRequest::new(RunTarget::Command(Vec::new()));
    let mut workload = WorkloadRun::default();
    let mut workload_named = false;
    let mut command = None;
    loop {
        // `--` is looked for before lexopt reads it, which would hide it
        // and return what follows as plain values.
        if let Some(rest) = command_after_double_dash(&mut args)? {
            command = Some(rest);
            break;
        }
        let flag = match next_item(&mut args)? {
            None => break,
            Some(Item::Option(flag)) => flag,
            Some(Item::Plain(plain)) => return Err(unknown_run_option(&plain)),
        };
        let mut value = || value_of(&mut args, &flag);
        match flag.as_str() {
            "--allocator" => request.allocator = value()?,
            "--reps" => {
                request.reps = number(&flag, &value()?)?;
                if request.reps == 0 {
                    return Err("option --reps: must be at least 1".into());
                }
            }
            "--warmup" => request.warmup = number(&flag, &value()?)?,
            "--timeout" => {
                let seconds: f64 = number(&flag, &value()?)?;
                if !(seconds >= 0.0 && seconds.is_finite()) {
                    return Err("option --timeout: must be a number of seconds >= 0".into());
                }
                request.timeout = (seconds > 0.0).then(|| Duration::from_secs_f64(seconds));
            }
            "--interval" => {
                let ms: u64 = number(&flag, &value()?)?;
                if ms == 0 {
                    return Err("option --interval: must be at least 1 ms".into());
                }
                request.interval = Duration::from_millis(ms);
            }
            "--limit-as" => {
                let given = value()?;
                let bytes = parse_byte_count(&given)
                    .ok_or_else(|| format!("option --limit-as: '{given}' is not a byte count"))?;
                request.limit_as = Some(bytes);
            }
            "--tail" => request.tail_bytes = number(&flag, &value()?)?,
            "--workload" => {
                workload.name = value()?;
                workload_named = true;
            }
            "--workload-bin" => workload.runner = Some(value()?),
            "--seed" => workload.seed = Some(value()?),
            "--scale" => workload.scale = Some(value()?),
            "--threads" => workload.threads = Some(value()?),
            "--duration" => workload.duration = Some(value()?),
            "--quiet-child" => request.forward_stderr = false,
            "--quiet" => request.quiet = true,
            "--cwd" => request.cwd = Some(value()?),
            "-o" | "--output" => request.output = Some(value()?),
            _ => return Err(unknown_run_option(&flag)),
        }
    }
    request.target = match (workload_named, command) {
        (true, Some(_)) => {
            return Err("run: give either --workload NAME or -- COMMAND, not both".into())
        }
        (true, None) => RunTarget::Workload(workload),
        (false, Some(command)) if !command.is_empty() => {
            if !workload.options_argv().is_empty() {
                return Err(
                    "run: --seed, --scale, --threads and --duration apply to --workload only"
                        .into(),
                );
            }
            RunTarget::Command(command)
        }
        _ => {
            return Err("run: nothing to run: give --workload NAME or -- COMMAND [ARGS...]".into())
        }
    };
    Ok(request)
}

fn parse_doctor(mut args: Parser) -> Result<DoctorRequest, String> {
    let mut request = DoctorRequest::default();
    while let Some(item) = next_item(&mut args)? {
        let flag = match item {
            Item::Option(flag) => flag,
            Item::Plain(binary) => {
                request.binaries.push(binary);
                continue;
            }
        };
        let mut value = || value_of(&mut args, &flag);
        match flag.as_str() {
            "--dir" => request.dir = value()?,
            "--min-free-mem" => request.min_free_mem_mib = number(&flag, &value()?)?,
            "--min-free-disk" => request.min_free_disk_mib = number(&flag, &value()?)?,
            _ => return Err(format!("doctor: unknown option '{flag}'")),
        }
    }
    Ok(request)
}
