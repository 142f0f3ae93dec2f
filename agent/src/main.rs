use lwm_agent::cli::{dispatch, Outcome};
use lwm_agent::launcher::Launcher;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Before anything else, while this process is single-threaded and
    // small: the launcher that starts every measured child is forked from
    // it, and a child's max RSS cannot read lower than what fork copies.
    let launcher = if std::env::args_os().nth(1).is_some_and(|a| a == "run") {
        match Launcher::start() {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!("lwm-agent: cannot start the launcher process: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        None
    };
    match dispatch(std::env::args().collect(), launcher) {
        Ok(Outcome::Text(t)) => {
            println!("{t}");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Document(json, ok, file)) => {
            let written = match &file {
                Some(f) => std::fs::write(f, format!("{json}\n"))
                    .map_err(|e| format!("output file {f}: {e}")),
                None => {
                    writeln!(std::io::stdout().lock(), "{json}").map_err(|e| format!("stdout: {e}"))
                }
            };
            if let Err(e) = written {
                eprintln!("lwm-agent: {e}");
                return ExitCode::from(2);
            }
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("lwm-agent: {e}");
            ExitCode::from(2)
        }
    }
}
