//! The allocator under test: checking the library before any run, and
//! proving after each run that it really was loaded. ld.so only prints a
//! warning and carries on when an LD_PRELOAD library fails to load, which
//! would otherwise be measured as a "result" for an allocator never used.

use crate::elf::{self, Elf};
use crate::schema::{AllocatorInfo, AllocatorKind, LwmStats};
use crate::sha256::sha256_hex;
use std::fs;
use std::path::Path;

/// Check the library and describe it. Errors are one clear line naming it.
pub fn inspect(spec: &str) -> Result<AllocatorInfo, String> {
    let inherited_ld_preload = std::env::var("LD_PRELOAD").ok().filter(|v| !v.is_empty());
    if spec == "system" {
        return Ok(AllocatorInfo {
            kind: AllocatorKind::System,
            path: None,
            resolved_path: None,
            sha256: None,
            size_bytes: None,
            exports_malloc: None,
            is_lwmalloc: false,
            inherited_ld_preload,
        });
    }
    let what = format!("allocator library {spec}");
    let path = Path::new(spec);
    let resolved = fs::canonicalize(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("{what}: no such file"),
        _ => format!("{what}: {e}"),
    })?;
    let meta = fs::metadata(&resolved).map_err(|e| format!("{what}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{what}: not a regular file"));
    }
    let data = fs::read(&resolved).map_err(|e| format!("{what}: cannot read: {e}"))?;
    let elf = Elf::parse(&data).map_err(|e| format!("{what}: {e}"))?;
    if elf.elf_type != elf::ET_DYN {
        return Err(format!(
            "{what}: not a shared library (ELF type {})",
            elf.elf_type
        ));
    }
    if let Some((own_machine, own_is64)) = own_elf_identity() {
        if own_machine != elf.machine || own_is64 != elf.is64 {
            return Err(format!(
                "{what}: built for {} ({}-bit), but this machine runs {} ({}-bit) programs",
                elf.machine_name(),
                if elf.is64 { 64 } else { 32 },
                crate::elf::machine_name(own_machine),
                if own_is64 { 64 } else { 32 }
            ));
        }
    }
    let symbols = elf.dynamic_symbols();
    let exports_malloc = symbols.iter().any(|s| s == "malloc");
    // A PIE program is ET_DYN too, but ld.so refuses to preload one.
    if elf.interpreter.is_some() && !exports_malloc {
        return Err(format!("{what}: a program, not a shared library"));
    }
    Ok(AllocatorInfo {
        kind: AllocatorKind::Preload,
        path: Some(spec.to_string()),
        resolved_path: Some(resolved.to_string_lossy().into_owned()),
        sha256: Some(sha256_hex(&data)),
        size_bytes: Some(data.len() as u64),
        exports_malloc: Some(exports_malloc),
        is_lwmalloc: symbols.iter().any(|s| s == "lwm_get_stats"),
        inherited_ld_preload,
    })
}

/// Parse `lwmalloc: pid=<pid> malloc=<n> ... fragmentation=<d.d>%`.
pub fn parse_lwm_stats(line: &str) -> Option<LwmStats> {
    let rest = line.trim().strip_prefix("lwmalloc: ")?;
    let mut s = LwmStats {
        line: line.trim().to_string(),
        pid: 0,
        malloc: 0,
        free: 0,
        realloc: 0,
        calloc: 0,
        aligned: 0,
        live: 0,
        mapped: 0,
        peak_mapped: 0,
        returned: 0,
        heap: 0,
        free_heap: 0,
        fragmentation_pct: 0.0,
    };
    let mut seen = 0;
    for kv in rest.split_whitespace() {
        let (k, v) = kv.split_once('=')?;
        if k == "fragmentation" {
            s.fragmentation_pct = v.trim_end_matches('%').parse().ok()?;
            seen += 1;
            continue;
        }
        let n: u64 = v.parse().ok()?;
        let slot = match k {
            "pid" => &mut s.pid,
            "malloc" => &mut s.malloc,
            "free" => &mut s.free,
            "realloc" => &mut s.realloc,
            "calloc" => &mut s.calloc,
            "aligned" => &mut s.aligned,
            "live" => &mut s.live,
            "mapped" => &mut s.mapped,
            "peak_mapped" => &mut s.peak_mapped,
            "returned" => &mut s.returned,
            "heap" => &mut s.heap,
            "free_heap" => &mut s.free_heap,
            _ => continue, // a newer library may add counters
        };
        *slot = n;
        seen += 1;
    }
    (seen >= 13).then_some(s)
}

/// ld.so's complaint about an LD_PRELOAD entry, e.g.
/// `ERROR: ld.so: object '/x.so' from LD_PRELOAD cannot be preloaded (...): ignored.`
pub fn is_loader_error(line: &str) -> bool {
    line.contains("ld.so: object") && line.contains("LD_PRELOAD")
        || line.contains("error while loading shared libraries")
}

/// Machine and class of the agent's own executable, from its ELF header
/// only (see `elf::file_head` for why not the whole file).
fn own_elf_identity() -> Option<(u16, bool)> {
    let head = crate::elf::file_head(Path::new("/proc/self/exe"))?;
    let own = Elf::parse_head(&head).ok()?;
    Some((own.machine, own.is64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_line() {
        let l = "lwmalloc: pid=42 malloc=10 free=9 realloc=1 calloc=2 aligned=0 live=64 mapped=4096 peak_mapped=8192 returned=0 heap=4096 free_heap=100 fragmentation=2.4%";
        let s = parse_lwm_stats(l).unwrap();
        assert_eq!(
            (s.pid, s.malloc, s.free, s.peak_mapped, s.free_heap),
            (42, 10, 9, 8192, 100)
        );
        assert_eq!(s.fragmentation_pct, 2.4);
        assert!(parse_lwm_stats("lwmalloc: pid=1 malloc=x").is_none());
        assert!(parse_lwm_stats("something else").is_none());
    }

    #[test]
    fn bogus_paths_are_clear_errors() {
        assert_eq!(
            inspect("/x/y.so").unwrap_err(),
            "allocator library /x/y.so: no such file"
        );
        assert_eq!(
            inspect("/").unwrap_err(),
            "allocator library /: not a regular file"
        );
        assert_eq!(
            inspect("/proc/self/status").unwrap_err(),
            "allocator library /proc/self/status: not an ELF file"
        );
        let exe = std::env::current_exe().unwrap();
        let e = inspect(exe.to_str().unwrap()).unwrap_err();
        assert!(e.contains("not a shared library"), "{e}");
    }

    #[test]
    fn loader_errors_are_recognised() {
        assert!(is_loader_error("ERROR: ld.so: object '/x.so' from LD_PRELOAD cannot be preloaded (cannot open shared object file): ignored."));
        assert!(!is_loader_error("hello"));
    }
}
