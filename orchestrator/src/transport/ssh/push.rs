//! `push` over SSH: compare checksums on the board, upload what differs
//! over SFTP to a temporary name next to its destination, then verify the
//! uploaded copy on the board and rename it into place.
//!
//! Three round trips whatever the number of files: one command hashes every
//! destination (and fixes the mode of unchanged ones), SFTP uploads, one
//! command verifies and renames every upload. `mv` within one directory is
//! an atomic rename(2): a reader sees the old file or the new one, never a
//! partial one.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use super::errors::{kind_of, kind_of_io};
use super::SshTransport;
use crate::transport::error::ErrorKind;
use crate::transport::shell::{check_mode, check_remote_rel};
use crate::transport::{PushFile, PushOutcome, TransportError};

/// Arguments: `path sha256 mode` triples (paths relative to work_dir).
/// Prints `<index> same` (and sets the mode) or `<index> differ` per file,
/// creating the parent directories of the files that differ.
const HASH_SCRIPT: &str = r#"i=0
while [ $# -ge 3 ]; do
  if [ -f "$1" ] && h=$(sha256sum < "$1") && [ "${h%% *}" = "$2" ]; then
    chmod "$3" "$1" || exit 1
    echo "$i same"
  else
    case $1 in */*) mkdir -p "${1%/*}" || exit 1;; esac
    echo "$i differ"
  fi
  i=$((i+1)); shift 3
done"#;

/// Arguments: `temp sha256 mode destination` quadruples. Prints `ok` when
/// the upload's checksum matched and it was moved into place, else
/// `mismatch <sha256>` or `failed <reason>` (and removes the upload), per
/// file. A directory in the way is refused: `mv` would move into it.
const FINISH_SCRIPT: &str = r#"while [ $# -ge 4 ]; do
  h=$(sha256sum < "$1") || h=unreadable
  h=${h%% *}
  if [ "$h" != "$2" ]; then rm -f "$1"; echo "mismatch $h"
  elif [ -d "$4" ]; then rm -f "$1"; echo "failed a directory is in the way"
  elif chmod "$3" "$1" && mv -f "$1" "$4"; then echo ok
  else rm -f "$1"; echo "failed chmod or mv failed"
  fi
  shift 4
done"#;

pub fn push_files(
    t: &mut SshTransport,
    files: &[PushFile],
) -> Result<Vec<PushOutcome>, TransportError> {
    for f in files {
        check_remote_rel(&f.remote_rel)
            .and_then(|()| check_mode(&f.remote_rel, f.mode))
            .map_err(|d| t.err(ErrorKind::Other, d))?;
    }
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let total_bytes: u64 = files
        .iter()
        .filter_map(|f| f.local.metadata().ok())
        .map(|m| m.len())
        .sum();
    // Hashing runs at tens of MB/s even on a Pi Zero; allow 1 s per MB.
    let script_timeout = t.op_timeout * 2 + Duration::from_secs(total_bytes / 1_000_000);

    let mut args = Vec::new();
    for f in files {
        args.extend([
            format!("./{}", f.remote_rel),
            f.sha256.clone(),
            format!("{:o}", f.mode),
        ]);
    }
    let (lines, _) = run_script(t, HASH_SCRIPT, "hash", args, script_timeout)?;
    let mut outcomes: Vec<Option<PushOutcome>> = vec![None; files.len()];
    for line in &lines {
        let parsed = line
            .split_once(' ')
            .and_then(|(i, what)| Some((i.parse::<usize>().ok()?, what)));
        match parsed {
            Some((i, "same")) if i < files.len() => outcomes[i] = Some(PushOutcome::Unchanged),
            Some((i, "differ")) if i < files.len() => {}
            _ => {
                return Err(t.err(
                    ErrorKind::Other,
                    format!("unexpected checksum listing line {line:?}"),
                ))
            }
        }
    }
    if lines.len() != files.len() {
        return Err(t.err(
            ErrorKind::Other,
            format!(
                "checksum listing has {} lines for {} files",
                lines.len(),
                files.len()
            ),
        ));
    }

    let to_send: Vec<usize> = (0..files.len())
        .filter(|&i| outcomes[i].is_none())
        .collect();
    if to_send.is_empty() {
        return Ok(outcomes
            .into_iter()
            .map(|o| o.expect("all unchanged"))
            .collect());
    }
    let mut finish_args = Vec::new();
    let mut temps = Vec::new();
    let mut sizes = Vec::new();
    for (n, &i) in to_send.iter().enumerate() {
        let f = &files[i];
        let temp_rel = temp_name(&f.remote_rel, n);
        let uploaded = upload(t, &f.local, &t.board_path(&temp_rel));
        temps.push(format!("./{temp_rel}"));
        match uploaded {
            Ok(bytes) => sizes.push(bytes),
            Err(e) => {
                remove_temps(t, &temps);
                // SFTP reports a full disk as a bare "failure": ask the
                // board, and say so when that is what it was.
                let needed = f.local.metadata().map(|m| m.len()).unwrap_or(0);
                return Err(match no_space(t, needed) {
                    Some(full) => t.err(
                        e.kind(),
                        format!(
                            "cannot upload {} ({needed} bytes): {full} ({})",
                            f.remote_rel,
                            e.detail()
                                .strip_prefix(&format!("{}: ", t.who.text))
                                .unwrap_or(e.detail())
                        ),
                    ),
                    None => e,
                });
            }
        }
        finish_args.extend([
            format!("./{temp_rel}"),
            f.sha256.clone(),
            format!("{:o}", f.mode),
            format!("./{}", f.remote_rel),
        ]);
    }
    let (results, finish_stderr) =
        run_script(t, FINISH_SCRIPT, "finish", finish_args, script_timeout)?;
    if results.len() != to_send.len() {
        return Err(t.err(
            ErrorKind::Other,
            format!(
                "upload check printed {} lines for {} files",
                results.len(),
                to_send.len()
            ),
        ));
    }
    let mut mismatches = Vec::new();
    for ((&i, result), bytes) in to_send.iter().zip(&results).zip(sizes) {
        let f = &files[i];
        match result.split_once(' ') {
            None if result == "ok" => outcomes[i] = Some(PushOutcome::Sent { bytes }),
            Some(("mismatch", got)) => mismatches.push(format!(
                "{} uploaded from {} has sha256 {got} on the board, expected {}",
                f.remote_rel,
                f.local.display(),
                f.sha256
            )),
            other => {
                let reason = match other {
                    Some(("failed", reason)) => reason,
                    _ => result.as_str(),
                };
                return Err(t.err(
                    ErrorKind::Other,
                    format!(
                        "cannot put the upload of {} in place: {reason} {finish_stderr}",
                        f.remote_rel
                    ),
                ));
            }
        }
    }
    if !mismatches.is_empty() {
        let mut detail = mismatches.join("; ");
        if let Some(full) = no_space(t, 1) {
            // A write the full disk refused may go unreported over SFTP.
            detail.push_str(&format!(" ({full})"));
        }
        if !finish_stderr.is_empty() {
            // e.g. `sha256sum: not found` on a board without it.
            detail.push_str(&format!(" (board said: {finish_stderr})"));
        }
        return Err(t.err(ErrorKind::ChecksumMismatch, detail));
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.expect("every file decided"))
        .collect())
}

/// `dir/.name.lwm-push-<pid>-<n>.tmp`: next to the destination (so the
/// final rename stays in one directory) and unique to this upload.
fn temp_name(remote_rel: &str, n: usize) -> String {
    let (dir, name) = match remote_rel.rsplit_once('/') {
        Some((d, name)) => (format!("{d}/"), name),
        None => (String::new(), remote_rel),
    };
    format!("{dir}.{name}.lwm-push-{}-{n}.tmp", std::process::id())
}

/// Runs one of the helper scripts with `sh -c`; returns its stdout lines
/// and its stderr.
fn run_script(
    t: &mut SshTransport,
    script: &str,
    name: &str,
    args: Vec<String>,
    timeout: Duration,
) -> Result<(Vec<String>, String), TransportError> {
    let mut argv = vec![
        "sh".to_string(),
        "-c".to_string(),
        script.to_string(),
        format!("lwm-push-{name}"),
    ];
    argv.extend(args);
    let out = t.run_in(&t.work_dir.clone(), &argv, &[], timeout)?;
    if out.status != Some(0) {
        return Err(t.err(
            ErrorKind::Other,
            format!(
                "push {name} step failed (status {:?}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    Ok((
        lines,
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    ))
}

/// Best effort after a failed upload: the temporary files already written
/// are removed, unless the connection is gone.
fn remove_temps(t: &mut SshTransport, temps: &[String]) {
    if t.broken.is_some() {
        return;
    }
    let mut argv = vec!["rm".to_string(), "-f".to_string()];
    argv.extend(temps.iter().cloned());
    let _ = t.run_in(&t.work_dir.clone(), &argv, &[], t.op_timeout);
}

/// `no space left on the board: N KiB free in WORK_DIR` when the file
/// system of work_dir has less than `needed` bytes available (asked with
/// `df -Pk`); `None` when it has room, or cannot be asked.
fn no_space(t: &mut SshTransport, needed: u64) -> Option<String> {
    if t.broken.is_some() {
        return None;
    }
    let argv = ["df", "-Pk", "."].map(String::from);
    let out = t
        .run_in(&t.work_dir.clone(), &argv, &[], t.op_timeout)
        .ok()?;
    let free_kib = df_available_kib(&String::from_utf8_lossy(&out.stdout))?;
    (free_kib.saturating_mul(1024) < needed).then(|| {
        format!(
            "no space left on the board: {free_kib} KiB free in {}",
            t.work_dir
        )
    })
}

/// The `Available` column (KiB) of `df -Pk`'s one file system line.
fn df_available_kib(df: &str) -> Option<u64> {
    df.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()
}

/// Copies `local` to `remote` (absolute) over SFTP; returns the byte count.
fn upload(t: &mut SshTransport, local: &Path, remote: &Path) -> Result<u64, TransportError> {
    let mut source = File::open(local).map_err(|e| {
        t.err(
            ErrorKind::Other,
            format!("cannot read {}: {e}", local.display()),
        )
    })?;
    let created = t.sftp()?.create(remote);
    let mut target = match created {
        Ok(f) => f,
        Err(e) => {
            let err = t.err(
                kind_of(&e),
                format!("cannot create {}: {}", remote.display(), e.message()),
            );
            return Err(t.note(err));
        }
    };
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = source.read(&mut buf).map_err(|e| {
            t.err(
                ErrorKind::Other,
                format!("cannot read {}: {e}", local.display()),
            )
        })?;
        if n == 0 {
            break;
        }
        if let Err(e) = target.write_all(&buf[..n]) {
            let err = t.err(
                kind_of_io(&t.session, &e),
                format!("cannot write {}: {e}", remote.display()),
            );
            return Err(t.note(err));
        }
        total += n as u64;
    }
    // Closing the handle makes the server finish the file.
    drop(target);
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::df_available_kib;

    #[test]
    fn reads_the_available_column_of_df() {
        let df = "Filesystem     1024-blocks  Used Available Capacity Mounted on\n\
                  tmpfs               131072 131072         0     100% /tmp/x\n";
        assert_eq!(df_available_kib(df), Some(0));
        let df = "Filesystem 1024-blocks Used Available Capacity Mounted on\n\
                  /dev/vda 264049568 19520084 76040100 21% /\n";
        assert_eq!(df_available_kib(df), Some(76_040_100));
        assert_eq!(df_available_kib("df: .: No such file or directory\n"), None);
    }
}
