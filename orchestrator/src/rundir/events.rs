//! `events.jsonl`: what happened during a campaign, one JSON object per
//! line, `{"event": NAME, "t_unix_ms": ..., FIELDS...}` with the keys in
//! alphabetical order. Every event the campaign writes is a variant of
//! `Event`; its fields are the line's fields.

use serde::{Deserialize, Serialize};

use crate::campaign::lock_owner::LockOwner;
use crate::manifest::Settings;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A new run directory: its boards and settings.
    CampaignStarted {
        boards: Vec<String>,
        settings: Settings,
    },
    /// `--resume`: the boards with work left, whether `--extend` added
    /// repetitions, and the temporary files an earlier lwm left.
    CampaignResumed {
        boards: Vec<String>,
        extended: bool,
        removed_temporaries: Vec<String>,
    },
    CampaignFinished {
        interrupted: bool,
    },
    BoardStarted {
        board: String,
    },
    /// The board's lock (`campaign::board_lock`) taken for this campaign.
    BoardLockAcquired {
        board: String,
        owner: LockOwner,
    },
    /// A stale lock taken over: `previous` describes its owner.
    BoardLockTakenOver {
        board: String,
        previous: String,
    },
    BoardLockReleased {
        board: String,
    },
    /// The lock stays on the board; the next campaign takes it over.
    BoardLockReleaseFailed {
        board: String,
        error: String,
    },
    /// `status` is the board's manifest status (`done`, `failed`,
    /// `interrupted`).
    BoardFinished {
        board: String,
        status: String,
        error: Option<String>,
    },
    ContainerStarted {
        board: String,
        image: String,
        container: String,
        port: u16,
        start_s: f64,
    },
    /// A VM's boot printed nothing for `silent_s` and was tried again.
    VmBootStalled {
        board: String,
        image: String,
        #[serde(rename = "try")]
        attempt: u32,
        tries: u32,
        silent_s: f64,
        console_tail: String,
        console_log: String,
    },
    VmBooted {
        board: String,
        image: String,
        port: u16,
        boot_s: f64,
        tries: u32,
    },
    LabgridAcquired {
        board: String,
        place: String,
        network_service: String,
        /// `USER@HOST:PORT`, empty when the place gave no SSH address.
        ssh: String,
    },
    LabgridReleased {
        board: String,
        place: String,
    },
    LabgridReleaseFailed {
        board: String,
        place: String,
        error: String,
    },
    Pushed {
        board: String,
        files: Vec<PushedFile>,
    },
    /// An allocator `available` left out: its library is not on the board.
    AllocatorSkipped {
        board: String,
        allocator: String,
        path: String,
        reason: String,
    },
    /// An allocator named explicitly whose runs are recorded as failed.
    AllocatorUnusable {
        board: String,
        allocator: String,
        reason: String,
    },
    /// A user command's repetition whose stdout differs from its stdout
    /// under `system`.
    StdoutDiffers {
        board: String,
        command: String,
        allocator: String,
        rep: u32,
        error: String,
    },
    /// `run` is a `RunKey` as displayed: `BOARD/WORKLOAD/ALLOCATOR KIND N`.
    RunStarted {
        run: String,
    },
    /// `file` relative to the run directory.
    RunFinished {
        run: String,
        ok: bool,
        file: String,
        problems: Vec<String>,
    },
    RunFailed {
        run: String,
        error: String,
    },
    ConnectionLost {
        board: String,
        run: String,
        error: String,
    },
    /// `stopped`: what was done about the command the lost connection left
    /// running, if anything.
    Reconnected {
        board: String,
        run: String,
        stopped: Option<String>,
    },
    VmGone {
        board: String,
        run: String,
        error: String,
    },
}

/// One file of a push and what became of it (`transport::PushOutcome` as
/// `Debug` prints it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushedFile {
    pub file: String,
    pub outcome: String,
}

impl Event {
    /// The line of `events.jsonl` (newline included) for this event at
    /// `t_unix_ms`.
    pub fn line(&self, t_unix_ms: u64) -> String {
        let mut v = serde_json::to_value(self).expect("an event is plain JSON");
        if let Some(o) = v.as_object_mut() {
            o.insert("t_unix_ms".into(), t_unix_ms.into());
        }
        format!("{v}\n")
    }

    /// Reads one line of `events.jsonl`: its time and event.
    pub fn parse(line: &str) -> serde_json::Result<(u64, Event)> {
        let mut v: serde_json::Value = serde_json::from_str(line)?;
        let t = v
            .as_object_mut()
            .and_then(|o| o.remove("t_unix_ms"))
            .and_then(|t| t.as_u64())
            .ok_or_else(|| serde::de::Error::missing_field("t_unix_ms"))?;
        Ok((t, serde_json::from_value(v)?))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Settings as a campaign records them, read from their JSON.
    fn settings() -> Settings {
        serde_json::from_value(json!({
            "workloads": ["small-burst"], "allocators": ["system", "lwmalloc"], "warmup": 1,
            "reps": 3, "target_ci": 0.05, "max_reps": 9, "scale": 0.25, "threads": null,
            "seed": 42, "noise_threshold": 0.02, "duration_s": 2 }))
        .unwrap()
    }

    /// Every event beside the `json!` value the campaign wrote for it
    /// before the events were typed: the lines are the same bytes, and
    /// read back to the same event.
    #[test]
    fn every_event_is_written_as_before_and_reads_back() {
        let s = settings();
        let owner = LockOwner {
            run_id: "r".into(),
            pid: 12,
            host: "h".into(),
            boot_id: "id".into(),
            pid_start: 34,
            since_unix_ms: 1_700_000_000_000,
            stale_after_s: 1440,
        };
        let cases: Vec<(Event, serde_json::Value)> = vec![
            (
                Event::CampaignStarted {
                    boards: vec!["local".into()],
                    settings: s.clone(),
                },
                json!({ "event": "campaign_started", "boards": ["local"], "settings": s }),
            ),
            (
                Event::CampaignResumed {
                    boards: vec!["a".into(), "b".into()],
                    extended: true,
                    removed_temporaries: vec!["raw/a/w/x/rep-000.tmp12".into()],
                },
                json!({ "event": "campaign_resumed", "boards": ["a", "b"], "extended": true,
                        "removed_temporaries": ["raw/a/w/x/rep-000.tmp12"] }),
            ),
            (
                Event::CampaignFinished { interrupted: false },
                json!({ "event": "campaign_finished", "interrupted": false }),
            ),
            (
                Event::BoardStarted { board: "b".into() },
                json!({ "event": "board_started", "board": "b" }),
            ),
            (
                Event::BoardLockAcquired {
                    board: "b".into(),
                    owner: owner.clone(),
                },
                json!({ "event": "board_lock_acquired", "board": "b", "owner": owner }),
            ),
            (
                Event::BoardLockTakenOver {
                    board: "b".into(),
                    previous: "lwm pid 12 on h".into(),
                },
                json!({ "event": "board_lock_taken_over", "board": "b",
                        "previous": "lwm pid 12 on h" }),
            ),
            (
                Event::BoardLockReleased { board: "b".into() },
                json!({ "event": "board_lock_released", "board": "b" }),
            ),
            (
                Event::BoardLockReleaseFailed {
                    board: "b".into(),
                    error: "e".into(),
                },
                json!({ "event": "board_lock_release_failed", "board": "b", "error": "e" }),
            ),
            (
                Event::BoardFinished {
                    board: "b".into(),
                    status: "done".into(),
                    error: None,
                },
                json!({ "event": "board_finished", "board": "b", "status": "done", "error": null }),
            ),
            (
                Event::BoardFinished {
                    board: "b".into(),
                    status: "failed".into(),
                    error: Some("board b: unreachable".into()),
                },
                json!({ "event": "board_finished", "board": "b", "status": "failed",
                        "error": "board b: unreachable" }),
            ),
            (
                Event::ContainerStarted {
                    board: "b".into(),
                    image: "img".into(),
                    container: "lwm-b-1".into(),
                    port: 2222,
                    start_s: 1.5,
                },
                json!({ "event": "container_started", "board": "b", "image": "img",
                        "container": "lwm-b-1", "port": 2222u16, "start_s": 1.5 }),
            ),
            (
                Event::VmBootStalled {
                    board: "b".into(),
                    image: "img".into(),
                    attempt: 1,
                    tries: 3,
                    silent_s: 60.0,
                    console_tail: "tail".into(),
                    console_log: "/r/console.log".into(),
                },
                json!({ "event": "vm_boot_stalled", "board": "b", "image": "img", "try": 1u32,
                        "tries": 3u32, "silent_s": 60.0, "console_tail": "tail",
                        "console_log": "/r/console.log" }),
            ),
            (
                Event::VmBooted {
                    board: "b".into(),
                    image: "img".into(),
                    port: 10022,
                    boot_s: 12.25,
                    tries: 1,
                },
                json!({ "event": "vm_booted", "board": "b", "image": "img", "port": 10022u16,
                        "boot_s": 12.25, "tries": 1u32 }),
            ),
            (
                Event::LabgridAcquired {
                    board: "b".into(),
                    place: "p".into(),
                    network_service: "NetworkService".into(),
                    ssh: "root@10.0.0.2:22".into(),
                },
                json!({ "event": "labgrid_acquired", "board": "b", "place": "p",
                        "network_service": "NetworkService", "ssh": "root@10.0.0.2:22" }),
            ),
            (
                Event::LabgridReleased {
                    board: "b".into(),
                    place: "p".into(),
                },
                json!({ "event": "labgrid_released", "board": "b", "place": "p" }),
            ),
            (
                Event::LabgridReleaseFailed {
                    board: "b".into(),
                    place: "p".into(),
                    error: "e".into(),
                },
                json!({ "event": "labgrid_release_failed", "board": "b", "place": "p", "error": "e" }),
            ),
            (
                Event::Pushed {
                    board: "b".into(),
                    files: vec![PushedFile {
                        file: "bin/lwm-agent".into(),
                        outcome: "Uploaded".into(),
                    }],
                },
                json!({ "event": "pushed", "board": "b",
                        "files": [{ "file": "bin/lwm-agent", "outcome": "Uploaded" }] }),
            ),
            (
                Event::AllocatorSkipped {
                    board: "b".into(),
                    allocator: "jemalloc".into(),
                    path: "/usr/lib/libjemalloc.so.2".into(),
                    reason: "not installed on the board".into(),
                },
                json!({ "event": "allocator_skipped", "board": "b", "allocator": "jemalloc",
                        "path": "/usr/lib/libjemalloc.so.2",
                        "reason": "not installed on the board" }),
            ),
            (
                Event::AllocatorUnusable {
                    board: "b".into(),
                    allocator: "x".into(),
                    reason: "r".into(),
                },
                json!({ "event": "allocator_unusable", "board": "b", "allocator": "x", "reason": "r" }),
            ),
            (
                Event::StdoutDiffers {
                    board: "b".into(),
                    command: "c".into(),
                    allocator: "lwmalloc".into(),
                    rep: 2,
                    error: "e".into(),
                },
                json!({ "event": "stdout_differs", "board": "b", "command": "c",
                        "allocator": "lwmalloc", "rep": 2u32, "error": "e" }),
            ),
            (
                Event::RunStarted {
                    run: "b/w/a rep 0".into(),
                },
                json!({ "event": "run_started", "run": "b/w/a rep 0" }),
            ),
            (
                Event::RunFinished {
                    run: "b/w/a rep 0".into(),
                    ok: false,
                    file: "raw/b/w/a/rep-000.json".into(),
                    problems: vec!["p".into()],
                },
                json!({ "event": "run_finished", "run": "b/w/a rep 0", "ok": false,
                        "file": "raw/b/w/a/rep-000.json", "problems": ["p"] }),
            ),
            (
                Event::RunFailed {
                    run: "r".into(),
                    error: "e".into(),
                },
                json!({ "event": "run_failed", "run": "r", "error": "e" }),
            ),
            (
                Event::ConnectionLost {
                    board: "b".into(),
                    run: "r".into(),
                    error: "e".into(),
                },
                json!({ "event": "connection_lost", "board": "b", "run": "r", "error": "e" }),
            ),
            (
                Event::Reconnected {
                    board: "b".into(),
                    run: "r".into(),
                    stopped: None,
                },
                json!({ "event": "reconnected", "board": "b", "run": "r", "stopped": null }),
            ),
            (
                Event::VmGone {
                    board: "b".into(),
                    run: "r".into(),
                    error: "e".into(),
                },
                json!({ "event": "vm_gone", "board": "b", "run": "r", "error": "e" }),
            ),
        ];
        for (event, mut before) in cases {
            before
                .as_object_mut()
                .unwrap()
                .insert("t_unix_ms".into(), 1_700_000_000_123u64.into());
            let line = event.line(1_700_000_000_123);
            assert_eq!(line, format!("{before}\n"));
            assert_eq!(
                Event::parse(line.trim_end()).unwrap(),
                (1_700_000_000_123, event)
            );
        }
    }

    #[test]
    fn a_line_without_a_time_or_event_is_refused() {
        assert!(Event::parse(r#"{"event":"board_started","board":"b"}"#).is_err());
        assert!(Event::parse(r#"{"t_unix_ms":1,"board":"b"}"#).is_err());
        assert!(Event::parse(r#"{"t_unix_ms":1,"event":"no_such_event"}"#).is_err());
    }
}
