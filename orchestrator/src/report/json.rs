//! report.json: every computed statistic and every raw sample value used
//! (hyperfine's practice), plus the manifest. Non-finite numbers are null.

use super::{Exporter, Summary};

pub struct Json;

impl Exporter for Json {
    fn file_name(&self) -> &str {
        "report.json"
    }

    fn render(&self, summary: &Summary) -> String {
        let mut s = serde_json::to_string_pretty(summary).expect("a summary always serialises");
        s.push('\n');
        s
    }
}
