//! liblwmalloc.a linked into a C program: the program's and libc's own
//! allocations go to lwmalloc without any LD_PRELOAD.

mod common;

use std::process::Command;

#[test]
fn static_archive_replaces_malloc_for_the_program_and_libc() {
    let Some(lib) =
        common::lwmalloc_or_skip("static_archive_replaces_malloc_for_the_program_and_libc")
    else {
        return;
    };
    let archive = lib.with_file_name("liblwmalloc.a");
    assert!(archive.exists(), "{} was not built", archive.display());
    let exe = common::scratch_dir().join("static_link");
    let source = common::tests_dir().join("c/static_link.c");
    let cc = Command::new(common::target_env::c_compiler())
        .args(["-O1", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(&source)
        .arg(&archive)
        .args(["-lpthread", "-ldl"])
        .output()
        .expect("run cc");
    assert!(
        cc.status.success(),
        "cc failed:\n{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let nm = Command::new(common::target_env::binutil("nm"))
        .arg(&exe)
        .output()
        .expect("run nm");
    let symbols = String::from_utf8_lossy(&nm.stdout);
    assert!(
        symbols.lines().any(|l| l.ends_with(" T malloc")),
        "malloc is not defined in the executable"
    );
    let run = common::target_env::target_command(&exe)
        .env_remove("LD_PRELOAD")
        .output()
        .expect("run static_link");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "static_link failed ({}): {stdout}{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    common::report(&format!("static link: {}", stdout.trim()));
}
