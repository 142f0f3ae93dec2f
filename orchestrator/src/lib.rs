//! `lwm`, the host orchestrator of the lwmalloc evaluation kit.

pub mod board;
pub mod build;
pub mod campaign;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod gate;
pub mod limits;
pub mod manifest;
pub mod needs;
pub mod platform;
pub mod provider;
pub mod qualify;
pub mod report;
pub mod rundir;
pub mod stats;
pub mod transport;
