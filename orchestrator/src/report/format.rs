//! Number and text formatting shared by the exporters.

use super::summary::{RatioSummary, WorkloadSummary};
use crate::stats::Verdict;

/// The two metrics every report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Time,
    Memory,
}

impl Metric {
    pub const BOTH: [Metric; 2] = [Metric::Time, Metric::Memory];

    pub fn id(self) -> &'static str {
        match self {
            Metric::Time => "time",
            Metric::Memory => "memory",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Metric::Time => "wall time",
            Metric::Memory => "peak RSS",
        }
    }

    pub fn word(self, v: Verdict) -> &'static str {
        match self {
            Metric::Time => v.time_word(),
            Metric::Memory => v.memory_word(),
        }
    }

    /// An absolute value of this metric (seconds or KiB) for humans.
    pub fn value(self, x: f64) -> String {
        match self {
            Metric::Time => seconds(x),
            Metric::Memory => kib(x),
        }
    }
}

/// The mark after a user command's name in the text tables (report.txt):
/// its rows are the user's programs, not lwm's workloads.
pub const COMMAND_MARK: &str = "[cmd]";
/// The mark of a command whose stdout was not compared across allocators.
pub const UNCHECKED_COMMAND_MARK: &str = "[cmd, output unchecked]";

/// A row's name in the text tables: a workload's name, or a command's
/// followed by its mark.
pub fn row_label(w: &WorkloadSummary) -> String {
    match (w.is_command(), w.output_check) {
        (false, _) => w.name.clone(),
        (true, Some(false)) => format!("{} {UNCHECKED_COMMAND_MARK}", w.name),
        (true, _) => format!("{} {COMMAND_MARK}", w.name),
    }
}

/// The legend of the marks in `workloads` (None when no row is a command).
pub fn command_legend(workloads: &[WorkloadSummary]) -> Option<String> {
    let checked = workloads
        .iter()
        .any(|w| w.is_command() && w.output_check != Some(false));
    let unchecked = workloads
        .iter()
        .any(|w| w.is_command() && w.output_check == Some(false));
    let mut parts = Vec::new();
    if checked {
        parts.push(format!(
            "{COMMAND_MARK} your own command, its stdout compared across allocators"
        ));
    }
    if unchecked {
        parts.push(format!(
            "{UNCHECKED_COMMAND_MARK} your own command, its stdout not compared"
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// `850.2 ms`, `1.234 s`, `12.35 s`, `123.4 s`.
pub fn seconds(s: f64) -> String {
    if !s.is_finite() {
        "-".into()
    } else if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else if s < 10.0 {
        format!("{s:.3} s")
    } else if s < 100.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
    }
}

/// `812 KiB`, `12.3 MiB`, `1.25 GiB`.
pub fn kib(k: f64) -> String {
    if !k.is_finite() {
        "-".into()
    } else if k < 1024.0 {
        format!("{k:.0} KiB")
    } else if k < 1024.0 * 1024.0 {
        format!("{:.1} MiB", k / 1024.0)
    } else {
        format!("{:.2} GiB", k / 1024.0 / 1024.0)
    }
}

/// `0.82x` (more digits below 0.1 so small ratios do not read as 0).
pub fn ratio(r: f64) -> String {
    if !r.is_finite() {
        "-".into()
    } else if r < 0.1 {
        format!("{r:.3}x")
    } else {
        format!("{r:.2}x")
    }
}

fn bare(r: f64) -> String {
    ratio(r).trim_end_matches('x').to_string()
}

/// `0.82x [0.79–0.85]`.
pub fn ratio_with_ci(r: &RatioSummary) -> String {
    format!(
        "{} [{}–{}]",
        ratio(r.ratio),
        bare(r.ci.low),
        bare(r.ci.high)
    )
}

/// `0.82x [0.79–0.85] faster`, or `-` when there is no ratio.
pub fn ratio_cell(r: Option<&RatioSummary>, metric: Metric) -> String {
    match r {
        Some(r) if r.ratio.is_finite() => {
            format!("{} {}", ratio_with_ci(r), metric.word(r.verdict))
        }
        _ => "-".into(),
    }
}

/// `2 %` for 0.02.
pub fn percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0} %")
    } else {
        format!("{p} %")
    }
}

/// `2025-03-01 14:05:09 UTC` from milliseconds since the Unix epoch.
pub fn utc(unix_ms: u64) -> String {
    crate::campaign::utc_readable(unix_ms)
}

/// Terminal columns `s` takes: not bytes (`–` is one column) nor
/// characters (`板` and most emoji are two).
pub fn columns(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// Pads with spaces to `width` terminal columns.
pub fn pad(s: &str, width: usize) -> String {
    format!("{s}{}", " ".repeat(width.saturating_sub(columns(s))))
}

/// Right-aligns to `width` terminal columns.
pub fn pad_left(s: &str, width: usize) -> String {
    format!("{}{s}", " ".repeat(width.saturating_sub(columns(s))))
}

/// Word-wraps `text` to `width` columns: the first line starts with
/// `first`, the others with `rest`; every line ends with a newline. A word
/// longer than a line stays whole.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        let needed = columns(&line) + usize::from(!empty) + columns(word);
        if !empty && needed > width {
            out.push_str(&line);
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_units() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_709_301_909_000), "2024-03-01 14:05:09 UTC");
        assert_eq!(seconds(0.8502), "850.2 ms");
        assert_eq!(seconds(1.2344), "1.234 s");
        assert_eq!(kib(812.0), "812 KiB");
        assert_eq!(kib(12.3 * 1024.0), "12.3 MiB");
        assert_eq!(percent(0.02), "2 %");
        assert_eq!(pad("a–b", 5), "a–b  ");
        assert_eq!(wrap("aa bb cc", 5, "", "  "), "aa bb\n  cc\n");
        assert_eq!(wrap("a", 5, "> ", ""), "> a\n");
    }

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(columns("板4"), 3);
        assert_eq!(pad("板4", 5), "板4  ");
        assert_eq!(pad_left("板4", 5), "  板4");
        // Counted by characters, "板板 板" would fit in 6 columns and did not.
        assert_eq!(wrap("板板 板", 6, "", ""), "板板\n板\n");
        assert_eq!(columns("x86-64 [emulated] – 1.00x"), 25);
    }
}
