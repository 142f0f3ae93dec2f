//! The exit report lwmalloc prints on stderr with LWM_STATS=1:
//! `lwmalloc: pid=<pid> malloc=<n> free=<n> realloc=<n> calloc=<n>
//! aligned=<n> live=<bytes> mapped=<bytes> peak_mapped=<bytes>
//! returned=<bytes> heap=<bytes> free_heap=<bytes> fragmentation=<d.d>%`
//! (one line).

const PREFIX: &str = "lwmalloc: pid=";

const COUNTERS: [&str; 12] = [
    "pid",
    "malloc",
    "free",
    "realloc",
    "calloc",
    "aligned",
    "live",
    "mapped",
    "peak_mapped",
    "returned",
    "heap",
    "free_heap",
];

#[derive(Debug, Clone, PartialEq)]
pub struct StatsLine {
    pub pid: u64,
    pub malloc: u64,
    pub free: u64,
    pub realloc: u64,
    pub calloc: u64,
    pub aligned: u64,
    pub live: u64,
    pub mapped: u64,
    pub peak_mapped: u64,
    pub returned: u64,
    pub heap: u64,
    pub free_heap: u64,
    /// Percent, with the one decimal the report prints.
    pub fragmentation: f64,
}

/// Parses one report line exactly: field names, order, single spaces,
/// decimal numbers, and `fragmentation=<digits>.<digit>%` at the end.
pub fn parse(line: &str) -> Result<StatsLine, String> {
    let rest = line
        .strip_prefix("lwmalloc: ")
        .ok_or("does not start with `lwmalloc: `")?;
    let fields: Vec<&str> = rest.split(' ').collect();
    if fields.len() != COUNTERS.len() + 1 {
        return Err(format!(
            "{} fields, expected {}",
            fields.len(),
            COUNTERS.len() + 1
        ));
    }
    let mut values = [0u64; 12];
    for (i, (field, name)) in fields.iter().zip(COUNTERS).enumerate() {
        let value = field
            .strip_prefix(name)
            .and_then(|v| v.strip_prefix('='))
            .ok_or_else(|| format!("field {} is `{field}`, expected `{name}=<n>`", i + 1))?;
        values[i] = parse_decimal(value).ok_or_else(|| format!("`{field}`: not a decimal"))?;
    }
    let last = fields[COUNTERS.len()];
    let percent = last
        .strip_prefix("fragmentation=")
        .and_then(|v| v.strip_suffix('%'))
        .ok_or_else(|| format!("last field is `{last}`, expected `fragmentation=<d.d>%`"))?;
    let (whole, tenth) = percent
        .split_once('.')
        .ok_or(format!("`{last}`: no decimal point"))?;
    if parse_decimal(whole).is_none() || tenth.len() != 1 || parse_decimal(tenth).is_none() {
        return Err(format!("`{last}`: expected <digits>.<digit>%"));
    }
    let [pid, malloc, free, realloc, calloc, aligned, live, mapped, peak_mapped, returned, heap, free_heap] =
        values;
    Ok(StatsLine {
        pid,
        malloc,
        free,
        realloc,
        calloc,
        aligned,
        live,
        mapped,
        peak_mapped,
        returned,
        heap,
        free_heap,
        fragmentation: percent.parse().map_err(|e| format!("`{last}`: {e}"))?,
    })
}

fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn is_report_line(line: &str) -> bool {
    line.starts_with(PREFIX)
}

/// All report lines of a stderr text; panics on a report line that does not
/// have the exact format.
pub fn stats_lines(stderr: &str) -> Vec<StatsLine> {
    stderr
        .lines()
        .filter(|l| is_report_line(l))
        .map(|l| parse(l).unwrap_or_else(|e| panic!("malformed LWM_STATS line: {e}\n{l}")))
        .collect()
}

/// stderr without the report lines, for comparing with a run without the
/// preload.
pub fn strip_stats_lines(stderr: &str) -> String {
    stderr
        .split_inclusive('\n')
        .filter(|l| !is_report_line(l))
        .collect()
}
