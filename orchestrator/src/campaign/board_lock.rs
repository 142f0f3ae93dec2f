//! The board lock: one campaign at a time uses a board's work dir.
//!
//! Two campaigns on one board would overwrite each other's artifacts in
//! the work dir and measure each other's library. The lock lives on the
//! board, as the directory `WORK_DIR/.lwm-lock` (made with `mkdir`, which
//! is atomic on every board and over every transport) holding `owner`, one
//! JSON line naming the campaign ([`LockOwner`]). A campaign takes it right
//! after connecting, before it pushes anything, refreshes it (touches
//! `owner`) while it runs, and removes it when the board is done, has
//! failed or Ctrl-C stopped it.
//!
//! An lwm that was killed leaves its lock behind. The next campaign takes
//! it over, saying so, when the owner is gone: an owner on this machine
//! whose process no longer runs (pid and start time), or, for an owner on
//! another machine, a lock not refreshed for the owner's `stale_after_s`
//! (counted by the board's own clock).

use std::time::{Duration, Instant};

use crate::transport::Transport;

use super::lock_owner::{Liveness, LockOwner};

/// The lock directory, relative to the board's work dir.
pub const LOCK_DIR: &str = ".lwm-lock";

/// How long a lock may stay without its `owner` file (an lwm killed
/// between `mkdir` and writing it) before it counts as stale.
const UNOWNED_STALE_S: u64 = 60;

/// How often a held lock is refreshed (at most).
const HEARTBEAT_EVERY: Duration = Duration::from_secs(60);

/// Seconds each lock command may take on the board.
const LOCK_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Makes the lock if it is free (`ACQUIRED`); otherwise prints `HELD`,
/// the age in seconds of the owner record (or of the bare directory),
/// and the record.
const ACQUIRE: &str = r#"L=.lwm-lock
if mkdir "$L" 2>/dev/null; then
  if { printf '%s\n' "$1" > "$L/owner.new" && mv -f "$L/owner.new" "$L/owner"; } 2>/dev/null; then
    echo ACQUIRED; exit 0
  fi
  rm -rf "$L"
  free=$(df -Pk . 2>/dev/null | awk 'NR == 2 { print $4 }')
  if [ -n "$free" ] && [ "$free" -lt 64 ]; then
    echo "no space left on the board: $free KiB free in $PWD, not even for its lock ($L/owner)" >&2
  else
    echo "cannot write its lock, $PWD/$L/owner" >&2
  fi
  exit 3
fi
[ -d "$L" ] || { echo "cannot make $PWD/$L" >&2; exit 3; }
now=$(date +%s)
m=$(stat -c %Y "$L/owner" 2>/dev/null || stat -c %Y "$L" 2>/dev/null || echo "$now")
echo "HELD $((now - m))"
cat "$L/owner" 2>/dev/null
exit 0"#;

/// Removes a stale lock, if it is still the one found stale (`$1`, its
/// owner record as read): another lwm may have taken it over meanwhile.
const TAKE_OVER: &str = r#"L=.lwm-lock
[ "$(cat "$L/owner" 2>/dev/null)" = "$1" ] || { echo CHANGED; exit 0; }
mv "$L" "$L.stale.$$" 2>/dev/null || { echo CHANGED; exit 0; }
rm -rf "$L.stale.$$"; echo REMOVED"#;

/// Touches the owner record if it is still ours (`OURS`), else says
/// whose it is now.
const HEARTBEAT: &str = r#"L=.lwm-lock
if [ "$(cat "$L/owner" 2>/dev/null)" = "$1" ]; then touch "$L/owner"; echo OURS; exit 0; fi
echo LOST; cat "$L/owner" 2>/dev/null; exit 0"#;

/// Removes the lock if it is still ours.
const RELEASE: &str = r#"L=.lwm-lock
[ "$(cat "$L/owner" 2>/dev/null)" = "$1" ] || { echo NOT_OURS; exit 0; }
rm -rf "$L" && echo RELEASED"#;

/// The lock this campaign holds on one board.
#[derive(Debug)]
pub struct BoardLock {
    board: String,
    record: String,
    last_beat: Instant,
}

/// What `acquire` found.
#[derive(Debug)]
pub struct Acquired {
    pub lock: BoardLock,
    /// The owner of a stale lock taken over, for the message and the event.
    pub took_over: Option<String>,
}

impl BoardLock {
    /// Takes board `board`'s lock through `t` for `owner`, or fails with
    /// one line naming the board and the holder.
    pub fn acquire(
        t: &mut dyn Transport,
        board: &str,
        owner: &LockOwner,
    ) -> Result<Acquired, String> {
        let record = serde_json::to_string(owner).expect("lock owner serialises");
        let mut took_over = None;
        // A take-over that loses a race with another lwm looks again.
        for _ in 0..3 {
            let out = script(t, board, ACQUIRE, &record)?;
            let mut lines = out.lines();
            let head = lines.next().unwrap_or_default();
            if head == "ACQUIRED" {
                let lock = BoardLock {
                    board: board.to_string(),
                    record,
                    last_beat: Instant::now(),
                };
                return Ok(Acquired { lock, took_over });
            }
            let Some(age) = head
                .strip_prefix("HELD ")
                .and_then(|a| a.trim().parse::<i64>().ok())
            else {
                return Err(format!(
                    "board {board}: unexpected answer from the lock command in {LOCK_DIR}: {head:?}"
                ));
            };
            let age = age.max(0) as u64;
            let found = lines.next().unwrap_or_default().to_string();
            let holder: Option<LockOwner> = serde_json::from_str(&found).ok();
            let stale = match &holder {
                Some(h) => match h.liveness() {
                    Liveness::Alive => false,
                    Liveness::Dead => true,
                    Liveness::Unknown => age > h.stale_after_s,
                },
                None => age > UNOWNED_STALE_S,
            };
            if !stale {
                return Err(match holder {
                    Some(h) => format!(
                        "board {board} is in use by {}; it holds {LOCK_DIR} in the board's work dir until that campaign ends",
                        h.describe()
                    ),
                    None => format!(
                        "board {board} is being locked by another lwm ({LOCK_DIR} in its work dir has no owner yet); try again in a minute"
                    ),
                });
            }
            let what = match &holder {
                Some(h) => format!(
                    "{} is no longer running ({})",
                    h.describe(),
                    match h.liveness() {
                        Liveness::Dead => "no such process on this host".to_string(),
                        _ => format!("lock not refreshed for {age} s"),
                    }
                ),
                None => format!("a lock with no owner, {age} s old"),
            };
            script(t, board, TAKE_OVER, &found)?;
            took_over = Some(what);
        }
        Err(format!(
            "board {board}: another lwm keeps taking {LOCK_DIR} in the board's work dir; try again"
        ))
    }

    /// Refreshes the lock if the last refresh is a while ago. Fails when
    /// the lock is no longer ours (another lwm took it over).
    pub fn heartbeat(&mut self, t: &mut dyn Transport) -> Result<(), String> {
        if self.last_beat.elapsed() < HEARTBEAT_EVERY {
            return Ok(());
        }
        // A connection lost here is the next run's to notice (and to
        // reconnect); only a lock taken by another lwm stops the board.
        let Ok(out) = script(t, &self.board, HEARTBEAT, &self.record) else {
            return Ok(());
        };
        self.last_beat = Instant::now();
        if out.starts_with("OURS") {
            return Ok(());
        }
        let now = out.lines().nth(1).unwrap_or_default();
        let by = serde_json::from_str::<LockOwner>(now)
            .map(|h| h.describe())
            .unwrap_or_else(|_| "nobody".into());
        Err(format!(
            "board {}: lost its lock ({LOCK_DIR}) to {by}; stopping so as not to mix two campaigns",
            self.board
        ))
    }

    /// Removes the lock if it is still ours.
    pub fn release(&self, t: &mut dyn Transport) -> Result<(), String> {
        script(t, &self.board, RELEASE, &self.record).map(|_| ())
    }
}

/// Runs one of the lock scripts with `arg` as `$1`; its stdout.
fn script(t: &mut dyn Transport, board: &str, body: &str, arg: &str) -> Result<String, String> {
    let argv: Vec<String> = ["sh", "-c", body, "lwm-lock", arg]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = t
        .exec(&argv, &[], LOCK_COMMAND_TIMEOUT)
        .map_err(|e| format!("board {board}: board lock: {}", e.detail()))?;
    if out.status != Some(0) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        return Err(format!("board {board}: {}", why.join("; ")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
