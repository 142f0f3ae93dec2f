//! The summary of a run and of each of its boards: which workloads and
//! allocators a board has, in what order, and the geometric means.

use std::collections::BTreeMap;

use super::super::load::{Cell, CellKey, RunData};
use super::super::warning::Warning;
use super::cell::{geomean_of, peaks, summarize_cell, times};
use super::emulation::{emulation_note, memory_representative, undeclared_emulation};
use super::warnings::{checksum_warning, floor_warning};
use super::{
    method, BoardSummary, FailedRunOut, GeomeanSummary, RowKind, Summary, WorkloadSummary,
    BASELINE, REPORT_SCHEMA, REPORT_VERSION,
};
use crate::manifest::BoardEntry;
use crate::stats;

/// Computes every statistic of `data`. Deterministic: seeds derive from names.
pub fn summarize(data: &RunData) -> Summary {
    let m = &data.manifest;
    let noise = m.settings.noise_threshold;
    let mut warnings = data.warnings.clone();
    // Boards are independent: one thread each (the bootstraps dominate).
    let names = board_names(data, &mut warnings);
    let per_board: Vec<(BoardSummary, Vec<Warning>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| {
                scope.spawn(move || {
                    let mut w = Vec::new();
                    (summarize_board(data, name, noise, &mut w), w)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("summarizing a board panicked"))
            .collect()
    });
    let mut boards = Vec::new();
    for (b, w) in per_board {
        boards.push(b);
        warnings.extend(w);
    }
    warnings.extend(m.boards.iter().filter_map(undeclared_emulation));
    Summary {
        schema: REPORT_SCHEMA,
        schema_version: REPORT_VERSION,
        run_id: m.run_id.clone(),
        manifest: m.clone(),
        method: method(noise),
        boards,
        warnings,
    }
}

/// Boards in manifest order, then any found only in raw/ (with a warning).
fn board_names(data: &RunData, warnings: &mut Vec<Warning>) -> Vec<String> {
    let mut names: Vec<String> = data
        .manifest
        .boards
        .iter()
        .map(|b| b.name.clone())
        .collect();
    for key in data.cells.keys() {
        if !names.contains(&key.board) {
            warnings.push(Warning::BoardNotInManifest {
                board: key.board.clone(),
            });
            names.push(key.board.clone());
        }
    }
    names
}

/// `preferred` order first, then the others found, in sorted order.
fn ordered(preferred: &[String], found: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let found: Vec<String> = found.collect();
    for p in preferred {
        if found.contains(p) && !out.contains(p) {
            out.push(p.clone());
        }
    }
    for f in found {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

fn summarize_board(
    data: &RunData,
    board: &str,
    noise: f64,
    warnings: &mut Vec<Warning>,
) -> BoardSummary {
    let settings = &data.manifest.settings;
    let entry: Option<&BoardEntry> = data.manifest.boards.iter().find(|b| b.name == board);
    let cells: BTreeMap<&CellKey, &Cell> = data
        .cells
        .iter()
        .filter(|(k, _)| k.board == board)
        .collect();

    // Planned names count too, so a campaign in progress shows its empty cells.
    let mut alloc_found: Vec<String> = cells.keys().map(|k| k.allocator.clone()).collect();
    let mut work_found: Vec<String> = cells.keys().map(|k| k.workload.clone()).collect();
    if let Some(e) = entry {
        alloc_found.extend(
            settings
                .allocators
                .iter()
                .filter(|a| *a == BASELINE || e.allocators.contains_key(*a))
                .cloned(),
        );
        // `all` is a selector, not a workload.
        work_found.extend(settings.workloads.iter().filter(|w| *w != "all").cloned());
    }
    let mut preferred = vec![BASELINE.to_string()];
    preferred.extend(settings.allocators.iter().cloned());
    let allocators = ordered(&preferred, alloc_found.into_iter());
    let workloads_names = ordered(
        &settings
            .workloads
            .iter()
            .filter(|w| *w != "all")
            .cloned()
            .collect::<Vec<_>>(),
        work_found.into_iter(),
    );

    let empty = Cell::default();
    let cell_of = |w: &str, a: &str| -> &Cell {
        let key = CellKey {
            board: board.into(),
            workload: w.into(),
            allocator: a.into(),
        };
        data.cells.get(&key).unwrap_or(&empty)
    };

    let mut failed_runs = Vec::new();
    let mut ok_runs = 0;
    let mut workloads = Vec::new();
    for w in &workloads_names {
        let base = cell_of(w, BASELINE);
        let base_time = times(base);
        let base_mem = peaks(base);
        let mut out = Vec::new();
        for a in &allocators {
            let cell = cell_of(w, a);
            ok_runs += cell.samples.len();
            failed_runs.extend(cell.failed.iter().map(|f| FailedRunOut {
                workload: w.clone(),
                allocator: a.clone(),
                run: f.clone(),
            }));
            let summary = summarize_cell(board, w, a, cell, &base_time, &base_mem, noise);
            floor_warning(board, w, a, cell, &summary, warnings);
            out.push(summary);
        }
        checksum_warning(board, w, &allocators, &cell_of, warnings);
        let command = settings.commands.iter().find(|c| &c.name == w);
        workloads.push(WorkloadSummary {
            name: w.clone(),
            kind: if command.is_some() {
                RowKind::Command
            } else {
                RowKind::Workload
            },
            output_check: command.map(|c| c.check_output),
            cells: out,
        });
    }

    let geomean = allocators
        .iter()
        .filter(|a| *a != BASELINE)
        .map(|a| {
            let time_pairs: Vec<(Vec<f64>, Vec<f64>)> = workloads_names
                .iter()
                .map(|w| (times(cell_of(w, a)), times(cell_of(w, BASELINE))))
                .collect();
            let mem_pairs: Vec<(Vec<f64>, Vec<f64>)> = workloads_names
                .iter()
                .map(|w| (peaks(cell_of(w, a)), peaks(cell_of(w, BASELINE))))
                .collect();
            GeomeanSummary {
                allocator: a.clone(),
                workloads: time_pairs
                    .iter()
                    .filter(|(x, y)| !x.is_empty() && !y.is_empty())
                    .count(),
                time: geomean_of(
                    &time_pairs,
                    stats::seed_for(&[board, "*geomean*", a, "time"]),
                    noise,
                ),
                memory: geomean_of(
                    &mem_pairs,
                    stats::seed_for(&[board, "*geomean*", a, "memory"]),
                    noise,
                ),
            }
        })
        .collect();

    let emulation = entry
        .map(|e| e.emulation.clone())
        .unwrap_or_else(|| "unknown".into());
    BoardSummary {
        name: board.to_string(),
        description: entry.map(|e| e.description.clone()).unwrap_or_default(),
        cpu: entry
            .map(|e| e.cpu.clone())
            .unwrap_or_else(|| "unknown".into()),
        target: entry
            .map(|e| e.target.clone())
            .unwrap_or_else(|| "unknown".into()),
        threads: entry.and_then(|e| e.threads_used(settings)),
        emulation_note: emulation_note(&emulation),
        memory_representative: memory_representative(&emulation),
        time_representative: emulation == "none",
        emulation,
        status: entry
            .map(|e| e.status.clone())
            .unwrap_or_else(|| "unknown".into()),
        error: entry.and_then(|e| e.error.clone()),
        incidents: entry.map(|e| e.incidents.clone()).unwrap_or_default(),
        allocators,
        workloads,
        geomean,
        ok_runs,
        failed_runs,
    }
}
