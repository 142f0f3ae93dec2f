use lwm_agent::cli::{dispatch, Outcome};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    match dispatch(std::env::args().collect()) {
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
