//! A user command must print the same stdout under every allocator: an
//! allocator that changes a program's output is broken for it, however
//! fast. The reference is the command's output under `system` (its
//! lowest ok repetition); every ok repetition is compared with it, and a
//! difference fails that repetition. The campaign (for the exit status and
//! the line on the terminal) and the report (from the raw documents) both
//! apply this rule.

/// One ok repetition of a command on one board.
#[derive(Debug, Clone)]
pub struct Output<'a> {
    pub allocator: &'a str,
    pub rep: u32,
    /// SHA-256 of its whole stdout; None from agents that did not hash it.
    pub sha256: Option<&'a str>,
}

/// The repetitions of `outputs` whose stdout differs from the reference,
/// as (index into `outputs`, one-line reason naming command and
/// allocator). Nothing when `system` has no ok repetition with a hash.
pub fn mismatches(command: &str, outputs: &[Output]) -> Vec<(usize, String)> {
    let Some(reference) = outputs
        .iter()
        .filter(|o| o.allocator == "system" && o.sha256.is_some())
        .min_by_key(|o| o.rep)
    else {
        return Vec::new();
    };
    let want = reference.sha256.unwrap_or_default();
    outputs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.sha256.is_some_and(|h| h != want))
        .map(|(i, o)| {
            let got = o.sha256.unwrap_or_default();
            let whose = if o.allocator == "system" {
                "differs between runs under system (the command's output is not deterministic)"
                    .to_string()
            } else {
                format!("under {} differs from under system", o.allocator)
            };
            (
                i,
                format!(
                    "command {command}: stdout {whose}: rep {} sha256 {} vs system rep {} sha256 {}",
                    o.rep,
                    short(got),
                    reference.rep,
                    short(want)
                ),
            )
        })
        .collect()
}

fn short(h: &str) -> &str {
    &h[..h.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o<'a>(allocator: &'a str, rep: u32, sha256: &'a str) -> Output<'a> {
        Output {
            allocator,
            rep,
            sha256: Some(sha256),
        }
    }

    #[test]
    fn a_different_output_fails_its_run() {
        let outs = [
            o("lwmalloc", 0, "bbbb"),
            o("system", 0, "aaaa"),
            o("lwmalloc", 1, "aaaa"),
            o("system", 1, "aaaa"),
        ];
        let m = mismatches("app", &outs);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].0, 0);
        assert!(m[0]
            .1
            .contains("command app: stdout under lwmalloc differs from under system"));
    }

    #[test]
    fn no_reference_no_verdict_and_system_itself_is_checked() {
        assert!(mismatches("app", &[o("lwmalloc", 0, "b")]).is_empty());
        let m = mismatches("app", &[o("system", 0, "a"), o("system", 1, "c")]);
        assert_eq!(m.len(), 1);
        assert!(m[0].1.contains("not deterministic"));
    }
}
