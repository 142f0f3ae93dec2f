//! A real C library doing real work through malloc: SQLite (bundled,
//! using its default system-malloc memory backend) in memory, inserting
//! sensor readings in transactions, building indexes, running aggregate
//! and range queries, updating and deleting, as an edge data logger does.

use crate::common::{key, Checksum, Params, Report, Rng};
use rusqlite::{params, Connection};

const NAME: &str = "sqlite";

fn fail(e: rusqlite::Error) -> ! {
    eprintln!("lwm-workload: {NAME}: SQLite error: {e}");
    std::process::exit(5);
}

pub fn run(p: &Params) -> Report {
    let rows = p.scaled(600_000, 200);
    let mut rng = Rng::new(key(p.seed, &[0x51]));
    let mut sum = Checksum::default();
    let db = Connection::open_in_memory().unwrap_or_else(|e| fail(e));
    db.execute_batch(
        "PRAGMA journal_mode = MEMORY;
         CREATE TABLE readings (id INTEGER PRIMARY KEY, sensor INTEGER NOT NULL,
                                ts INTEGER NOT NULL, value REAL NOT NULL, note TEXT);",
    )
    .unwrap_or_else(|e| fail(e));
    let (mut inserted, mut queries, mut updated, mut deleted) = (0u64, 0u64, 0u64, 0u64);
    let batch = 1000;
    let mut written_sum = 0i64;
    let mut id = 0i64;
    while (id as u64) < rows {
        let tx = db.unchecked_transaction().unwrap_or_else(|e| fail(e));
        {
            let mut ins = tx
                .prepare_cached("INSERT INTO readings (id, sensor, ts, value, note) VALUES (?1, ?2, ?3, ?4, ?5)")
                .unwrap_or_else(|e| fail(e));
            for _ in 0..batch.min(rows - id as u64) {
                let sensor = rng.range(0, 199) as i64;
                let value = rng.range(0, 100_000) as i64;
                let note = if rng.chance(4) {
                    Some(format!(
                        "calibrated by unit {} rev {}",
                        rng.range(0, 99),
                        rng.range(0, 9)
                    ))
                } else {
                    None
                };
                ins.execute(params![
                    id,
                    sensor,
                    1_700_000_000 + id * 5,
                    value as f64 / 100.0,
                    note
                ])
                .unwrap_or_else(|e| fail(e));
                written_sum += value;
                inserted += 1;
                id += 1;
            }
        }
        tx.commit().unwrap_or_else(|e| fail(e));
    }
    // Verify what was written: the stored values add up to what we inserted.
    let stored: f64 = db
        .query_row("SELECT total(value) FROM readings", [], |r| r.get(0))
        .unwrap_or_else(|e| fail(e));
    if (stored - written_sum as f64 / 100.0).abs() > 1e-3 * (rows as f64) {
        crate::common::verification_failed(
            NAME,
            &format!(
                "stored total {stored} != written {}",
                written_sum as f64 / 100.0
            ),
        );
    }
    db.execute_batch("CREATE INDEX by_sensor_ts ON readings (sensor, ts); CREATE INDEX by_value ON readings (value);")
        .unwrap_or_else(|e| fail(e));
    {
        let mut agg = db
            .prepare("SELECT sensor, count(*), min(value), max(value), avg(value) FROM readings GROUP BY sensor ORDER BY sensor")
            .unwrap_or_else(|e| fail(e));
        let mut it = agg.query([]).unwrap_or_else(|e| fail(e));
        let mut counted = 0i64;
        while let Some(row) = it.next().unwrap_or_else(|e| fail(e)) {
            let (s, n, lo, hi, avg): (i64, i64, f64, f64, f64) = (
                row.get(0).unwrap(),
                row.get(1).unwrap(),
                row.get(2).unwrap(),
                row.get(3).unwrap(),
                row.get(4).unwrap(),
            );
            counted += n;
            sum.add(s as u64 ^ (n as u64) << 16);
            sum.add(lo.to_bits() ^ hi.to_bits() ^ ((avg * 1000.0).round() as u64));
        }
        if counted as u64 != rows {
            crate::common::verification_failed(
                NAME,
                &format!("GROUP BY counted {counted} rows, inserted {rows}"),
            );
        }
        queries += 1;
    }
    let range_queries = (rows / 100).max(10);
    let mut range = db
        .prepare_cached("SELECT count(*), total(value), group_concat(note, '|') FROM readings WHERE sensor = ?1 AND ts BETWEEN ?2 AND ?3")
        .unwrap_or_else(|e| fail(e));
    for _ in 0..range_queries {
        let sensor = rng.range(0, 199) as i64;
        let from = 1_700_000_000 + rng.range(0, rows * 5) as i64;
        let (n, total, notes): (i64, f64, Option<String>) = range
            .query_row(params![sensor, from, from + 50_000], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap_or_else(|e| fail(e));
        sum.add(n as u64 ^ total.to_bits());
        sum.add_bytes(notes.unwrap_or_default().as_bytes());
        queries += 1;
    }
    drop(range);
    updated += db
        .execute("UPDATE readings SET value = value * 1.5, note = coalesce(note, '') || ' adjusted' WHERE sensor % 7 = 0", [])
        .unwrap_or_else(|e| fail(e)) as u64;
    deleted += db
        .execute("DELETE FROM readings WHERE value > 900", [])
        .unwrap_or_else(|e| fail(e)) as u64;
    let (n, total): (i64, f64) = db
        .query_row("SELECT count(*), total(value) FROM readings", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap_or_else(|e| fail(e));
    if n as u64 != rows - deleted {
        crate::common::verification_failed(
            NAME,
            &format!("{n} rows left, expected {}", rows - deleted),
        );
    }
    sum.add(n as u64 ^ ((total * 100.0).round() as u64));
    queries += 1;
    let mut r = Report::new(1, false);
    r.op("rows_inserted", inserted)
        .op("queries", queries)
        .op("rows_updated", updated)
        .op("rows_deleted", deleted);
    r.checksum = sum.0;
    r
}
