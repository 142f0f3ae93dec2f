//! `lwm-agent doctor`: will these binaries run correctly on this board,
//! and is the board fit to measure on? Catches, before a campaign, the
//! traps that otherwise show up as SIGILL halfway through or as numbers
//! that mean nothing: ARMv7 code on an ARMv6 CPU, LSE atomics on an
//! ARMv8.0 CPU, a float ABI or loader the system lacks, a glibc older than
//! the binary needs, too little memory or disk, a throttling or emulated board.

mod binary;
mod board;
mod cpu;
#[cfg(test)]
mod tests;

pub use binary::check_binary;
pub use board::check_board;
pub use cpu::CpuCaps;

use crate::environment;
use crate::schema::{
    Check, CheckStatus, DoctorDocument, DoctorStatus, DOCTOR_SCHEMA, SCHEMA_VERSION,
};
use lwm_contract::request::DoctorRequest;
use std::path::Path;

/// Every check of the board, then of each binary, in one document.
pub fn run(opts: &DoctorRequest) -> Result<DoctorDocument, String> {
    let env = environment::collect();
    let cpu = CpuCaps::detect(&env);
    let mut checks = check_board(&env, opts);
    for b in &opts.binaries {
        let data = std::fs::read(b).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("binary {b}: no such file"),
            _ => format!("binary {b}: {e}"),
        })?;
        checks.extend(check_binary(b, &data, &cpu, &|i| Path::new(i).exists()));
    }
    let status = if checks.iter().any(|c| c.status == CheckStatus::Fail) {
        DoctorStatus::Failed
    } else if checks.iter().any(|c| c.status == CheckStatus::Warn) {
        DoctorStatus::Warnings
    } else {
        DoctorStatus::Ok
    };
    Ok(DoctorDocument {
        schema: DOCTOR_SCHEMA.into(),
        schema_version: SCHEMA_VERSION,
        agent: crate::invocation::agent_info(None),
        environment: env,
        checks,
        status,
    })
}

fn check(name: &str, target: Option<&str>, status: CheckStatus, detail: String) -> Check {
    Check {
        name: name.into(),
        target: target.map(str::to_string),
        status,
        detail,
    }
}
