//! The files a user command needs on a board: its program (when it is a
//! host file) and its `push` inputs, all in `WORK_DIR/cmd/NAME/`. A pushed
//! ELF program passes the same instruction-set gate as lwm's own
//! artifacts; a `#!` script is pushed as it is (its interpreter is the
//! board's).

use std::path::Path;

use crate::board::BoardProfile;
use crate::commands::{file_name, UserCommand};
use crate::manifest::ArtifactEntry;
use crate::transport::PushFile;

/// What to push for `cmd` to `board`, with the manifest's record of each
/// file. The error is one line naming the command, the file and the board.
pub fn command_files(
    cmd: &UserCommand,
    board: &BoardProfile,
) -> Result<Vec<(PushFile, ArtifactEntry)>, String> {
    let mut out = Vec::new();
    if let Some(program) = &cmd.program {
        out.push(one_file(cmd, board, program, true)?);
    }
    for input in &cmd.push {
        out.push(one_file(cmd, board, input, false)?);
    }
    Ok(out)
}

fn one_file(
    cmd: &UserCommand,
    board: &BoardProfile,
    local: &str,
    is_program: bool,
) -> Result<(PushFile, ArtifactEntry), String> {
    let path = Path::new(local);
    let data = std::fs::read(path)
        .map_err(|e| format!("command {}: {local}: cannot read: {e}", cmd.name))?;
    let gate = if is_program {
        program_gate(cmd, board, path, &data)?
    } else {
        None
    };
    let rel = format!("{}/{}", cmd.board_dir_rel(), file_name(local));
    let sha256 = lwm_contract::sha256::sha256_hex(&data);
    let executable = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    };
    let mode = if is_program || executable {
        0o755
    } else {
        0o644
    };
    Ok((
        PushFile {
            local: path.to_path_buf(),
            remote_rel: rel.clone(),
            mode,
            sha256: sha256.clone(),
        },
        ArtifactEntry {
            name: rel.clone(),
            local_path: local.to_string(),
            board_path: format!("{}/{rel}", board.work_dir),
            sha256,
            size_bytes: data.len() as u64,
            gate,
        },
    ))
}

/// An ELF program must suit the board (the gate); a script is the board
/// interpreter's business; anything else cannot be run.
fn program_gate(
    cmd: &UserCommand,
    board: &BoardProfile,
    path: &Path,
    data: &[u8],
) -> Result<Option<crate::gate::GateReport>, String> {
    if data.starts_with(b"\x7fELF") {
        let resolved = board.clone().with_host_resolved();
        return crate::gate::check(path, &resolved)
            .map(Some)
            .map_err(|e| format!("command {}: {e}", cmd.name));
    }
    if data.starts_with(b"#!") {
        return Ok(None);
    }
    Err(format!(
        "command {}: {}: neither an ELF program nor a #! script, so board {} cannot run it",
        cmd.name,
        path.display(),
        board.name
    ))
}
