//! The list of workloads: name, one-line description, entry point.

use crate::common::{Params, Report};

pub struct Workload {
    pub name: &'static str,
    pub about: &'static str,
    pub run: fn(&Params) -> Report,
}

pub const WORKLOADS: &[Workload] = &[
    // Embedded and IoT software, what LWMalloc was built for.
    Workload {
        name: "small-burst",
        about: "bursts of small short-lived objects with a few survivors",
        run: crate::small_burst::run,
    },
    Workload {
        name: "sensor-queue",
        about: "sensor messages through a bounded queue, freed by the consumer thread",
        run: crate::sensor_queue::run,
    },
    Workload {
        name: "json-telemetry",
        about: "emit, parse and summarise JSON telemetry",
        run: crate::json_telemetry::run,
    },
    Workload {
        name: "edge-ai-frames",
        about: "camera frames and tensor buffers of 100 KB to 4 MB",
        run: crate::edge_ai_frames::run,
    },
    Workload {
        name: "log-config",
        about: "string-heavy log shipping and configuration reloads",
        run: crate::log_config::run,
    },
    // Classic allocator stressors, written from their public descriptions.
    Workload {
        name: "larson",
        about: "larson server simulation with cross-thread frees",
        run: crate::larson::run,
    },
    Workload {
        name: "xmalloc",
        about: "xmalloc-test producer/consumer threads",
        run: crate::xmalloc::run,
    },
    Workload {
        name: "mstress",
        about: "power-of-two churn with threads created and destroyed",
        run: crate::mstress::run,
    },
    Workload {
        name: "thread-churn",
        about: "generations of short-lived threads freeing blocks of exited ones",
        run: crate::thread_churn::run,
    },
    Workload {
        name: "alloc-test",
        about: "alloc-test Pareto size distribution",
        run: crate::alloc_test::run,
    },
    Workload {
        name: "cache-scratch",
        about: "cache-scratch passive false sharing",
        run: crate::cache_scratch::run,
    },
    Workload {
        name: "realloc-growth",
        about: "realloc growth of C buffers, vectors and strings",
        run: crate::realloc_growth::run,
    },
    Workload {
        name: "malloc-large",
        about: "large blocks of 256 KiB to 16 MiB, every page touched",
        run: crate::malloc_large::run,
    },
    // Long-running behaviour.
    Workload {
        name: "frag-soak",
        about: "fragmentation soak: shifting size mixes, live bytes over time",
        run: crate::frag_soak::run,
    },
    // A real C library.
    Workload {
        name: "sqlite",
        about: "SQLite (bundled) inserting, indexing and querying in memory",
        run: crate::sqlite::run,
    },
];

/// Workloads that run for a wall-clock `--duration` rather than a number
/// of operations. `lwm` leaves them out of `all` (every campaign would
/// last their duration); they run when named.
pub const TIMED: &[Workload] = &[Workload {
    name: "steady-soak",
    about: "constant live bytes churned for --duration, RSS sampled every --period",
    run: crate::steady_soak::run,
}];

/// Workloads that run only when named: `lwm` leaves them out of `all`
/// (peak-return holds 200 MiB, too much to add to every campaign).
pub const ON_REQUEST: &[Workload] = &[Workload {
    name: "peak-return",
    about: "a 200 MiB peak of small and medium blocks freed: RSS before, at the peak, after",
    run: crate::peak_return::run,
}];

/// Workloads whose size is `--live` bytes rather than `--scale`.
pub const SIZED_BY_LIVE: &[&str] = &["steady-soak", "peak-return"];

pub fn find(name: &str) -> Option<&'static Workload> {
    all().find(|w| w.name == name)
}

pub fn is_timed(name: &str) -> bool {
    TIMED.iter().any(|w| w.name == name)
}

/// Every workload: the fixed-work ones, the timed ones, the ones run on request.
pub fn all() -> impl Iterator<Item = &'static Workload> {
    WORKLOADS.iter().chain(TIMED).chain(ON_REQUEST)
}
