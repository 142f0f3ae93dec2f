//! glibc symbol versions: an artifact may need no GLIBC_x.y newer than the
//! board's glibc, or the board's loader refuses it.

/// A glibc version (major, minor[, patch]) as numbers, ordered.
pub type Version = Vec<u32>;

/// `2.36` or `GLIBC_2.36` -> [2, 36]; None if not all numbers.
pub fn parse(text: &str) -> Option<Version> {
    let text = text.strip_prefix("GLIBC_").unwrap_or(text);
    let parts: Option<Version> = text.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| !p.is_empty())
}

/// The newest GLIBC_ version among `needed` (symbol, version) pairs, with
/// the symbols that need it (sorted).
pub fn newest(needed: &[(String, String)]) -> Option<(String, Vec<String>)> {
    let best = needed
        .iter()
        .filter_map(|(_, v)| Some((parse(v)?, v)))
        .max_by(|a, b| a.0.cmp(&b.0))?
        .1
        .clone();
    let mut symbols: Vec<String> = needed
        .iter()
        .filter(|(_, v)| *v == best)
        .map(|(s, _)| s.clone())
        .collect();
    symbols.sort();
    symbols.dedup();
    Some((best, symbols))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(parse("GLIBC_2.38").unwrap() > parse("2.4").unwrap());
        assert!(parse("GLIBC_2.3.4").unwrap() < parse("2.4").unwrap());
        assert_eq!(parse("GLIBC_PRIVATE"), None);
        let needed = [
            ("memcpy".to_string(), "GLIBC_2.4".to_string()),
            ("pthread_key_create".to_string(), "GLIBC_2.34".to_string()),
            ("fcntl64".to_string(), "GLIBC_2.28".to_string()),
            ("dlsym".to_string(), "GLIBC_2.34".to_string()),
            ("x".to_string(), "GLIBC_PRIVATE".to_string()),
        ];
        assert_eq!(
            newest(&needed),
            Some((
                "GLIBC_2.34".to_string(),
                vec!["dlsym".to_string(), "pthread_key_create".to_string()]
            ))
        );
    }
}
