// Link options for liblwmalloc.so: one code segment instead of separate
// read-only and executable ones saves the padding between them (several
// KB of a 20 KB budget); no unwind tables (see discard-unwind.ld); and no
// lazy binding, since every call is hot.
fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        // libc.so.6 explicitly: the `libc` crate emits its link directives
        // only without its `std` feature, and a workspace build unifies that
        // feature in from the agent; this no_std library links no std, so
        // it would come out with no DT_NEEDED libc.so.6 and no symbol
        // versions (loadable only where libc is already loaded).
        println!("cargo:rustc-link-lib=dylib=c");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,noseparate-code");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,now");
        // No C start files (crti, crtbeginS, ...): the loader runs our
        // .init_array and .fini_array itself, and their transactional-memory
        // and gprof hooks only add symbols and code.
        println!("cargo:rustc-cdylib-link-arg=-nostartfiles");
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("discard-unwind.ld");
        println!("cargo:rustc-cdylib-link-arg=-Wl,--no-eh-frame-hdr");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-T,{}", script.display());
        println!("cargo:rerun-if-changed=discard-unwind.ld");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
