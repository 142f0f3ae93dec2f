//! Command line: read into a request by lwm-contract (`request`), the same
//! type the host writes it from; this file does what the request asks.
//! Errors are one line, exit status 2.

use crate::doctor;
use crate::invocation;
use crate::launcher::Launcher;
use crate::schema::{
    DoctorStatus, EnvironmentDocument, SummaryStatus, ENVIRONMENT_SCHEMA, SCHEMA_VERSION,
};
use lwm_contract::request::AgentRequest;
pub use lwm_contract::request::USAGE;

pub enum Outcome {
    /// A document to print, and whether everything in it succeeded.
    Document(String, bool, Option<String>),
    Text(String),
}

/// Run the command line `argv`. `launcher`: the process that starts the
/// measured children of `run`, forked by `main` before anything else (see
/// `launcher`); None starts one when needed.
pub fn dispatch(argv: Vec<String>, launcher: Option<Launcher>) -> Result<Outcome, String> {
    match AgentRequest::parse(&argv)? {
        AgentRequest::Run(request) => {
            let doc = invocation::execute(&argv, &request, launcher)?;
            let ok = doc.summary.status == SummaryStatus::Ok;
            Ok(Outcome::Document(
                serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?,
                ok,
                request.output,
            ))
        }
        AgentRequest::Doctor(request) => {
            let doc = doctor::run(&request)?;
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
        AgentRequest::Environment => {
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
        AgentRequest::Version => Ok(Outcome::Text(format!(
            "lwm-agent {} (schema version {SCHEMA_VERSION})",
            env!("CARGO_PKG_VERSION")
        ))),
        AgentRequest::Help => Ok(Outcome::Text(USAGE.into())),
    }
}
