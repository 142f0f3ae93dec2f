//! `lwm`, the host orchestrator of the lwmalloc evaluation kit.

pub mod board;
pub mod build;
pub mod campaign;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod container;
pub mod gate;
pub mod labgrid;
pub mod limits;
pub mod manifest;
pub mod needs;
pub mod platform;
pub mod qualify;
pub mod report;
pub mod rundir;
pub mod stats;
mod supervised;
pub mod transport;
pub mod vm;
