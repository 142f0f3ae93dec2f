//! The binary checks against ELF files made here, section by section.

use super::check_binary;
use super::cpu::CpuCaps;
use crate::elf::{self, Elf};
use crate::schema::Check;

struct Sec {
    name: &'static str,
    kind: u32,
    flags: u64,
    data: Vec<u8>,
    link: u32,
}

/// A minimal ELF file (little-endian) with the given sections.
fn build_elf(is64: bool, machine: u16, flags: u32, secs: &[Sec]) -> Vec<u8> {
    let ehsize = if is64 { 64 } else { 52 };
    let mut out = vec![0u8; ehsize];
    let mut shstr = vec![0u8];
    let mut hdrs = Vec::new(); // (name_off, kind, flags, offset, size, link)
    hdrs.push((0u32, 0u32, 0u64, 0u64, 0u64, 0u32));
    for s in secs {
        let name_off = shstr.len() as u32;
        shstr.extend_from_slice(s.name.as_bytes());
        shstr.push(0);
        hdrs.push((
            name_off,
            s.kind,
            s.flags,
            out.len() as u64,
            s.data.len() as u64,
            s.link,
        ));
        out.extend_from_slice(&s.data);
    }
    let name_off = shstr.len() as u32;
    shstr.extend_from_slice(b".shstrtab\0");
    hdrs.push((name_off, 3, 0, out.len() as u64, shstr.len() as u64, 0));
    out.extend_from_slice(&shstr);
    while out.len() % 8 != 0 {
        out.push(0);
    }
    let shoff = out.len() as u64;
    for (n, k, f, o, sz, l) in &hdrs {
        if is64 {
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&f.to_le_bytes());
            out.extend_from_slice(&0u64.to_le_bytes());
            out.extend_from_slice(&o.to_le_bytes());
            out.extend_from_slice(&sz.to_le_bytes());
            out.extend_from_slice(&l.to_le_bytes());
            out.extend_from_slice(&[0u8; 20]);
        } else {
            for v in [*n, *k, *f as u32, 0, *o as u32, *sz as u32, *l, 0, 0, 0] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = if is64 { 2 } else { 1 };
    out[5] = 1;
    out[6] = 1;
    out[16..18].copy_from_slice(&elf::ET_DYN.to_le_bytes());
    out[18..20].copy_from_slice(&machine.to_le_bytes());
    out[20..24].copy_from_slice(&1u32.to_le_bytes());
    let shnum = hdrs.len() as u16;
    if is64 {
        out[40..48].copy_from_slice(&shoff.to_le_bytes());
        out[48..52].copy_from_slice(&flags.to_le_bytes());
        out[52..54].copy_from_slice(&64u16.to_le_bytes());
        out[58..60].copy_from_slice(&64u16.to_le_bytes());
        out[60..62].copy_from_slice(&shnum.to_le_bytes());
        out[62..64].copy_from_slice(&(shnum - 1).to_le_bytes());
    } else {
        out[32..36].copy_from_slice(&(shoff as u32).to_le_bytes());
        out[36..40].copy_from_slice(&flags.to_le_bytes());
        out[40..42].copy_from_slice(&52u16.to_le_bytes());
        out[46..48].copy_from_slice(&40u16.to_le_bytes());
        out[48..50].copy_from_slice(&shnum.to_le_bytes());
        out[50..52].copy_from_slice(&(shnum - 1).to_le_bytes());
    }
    out
}

fn words(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A `.text` section (PROGBITS, alloc + exec) holding `code`.
fn text(code: &[u32]) -> Sec {
    Sec {
        name: ".text",
        kind: 1,
        flags: 6,
        data: words(code),
        link: 0,
    }
}

fn cpu(machine: u16, is64: bool, level: u32, lse: bool) -> CpuCaps {
    CpuCaps {
        machine,
        is64,
        arm_level: Some(level),
        thumb2: level >= 7,
        vfp3: level >= 7,
        neon: level >= 7,
        lse,
        glibc: Some((2, 36)),
        description: "test CPU".into(),
    }
}

fn status_of<'a>(checks: &'a [Check], name: &str) -> &'a str {
    checks
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.status.as_str())
        .unwrap_or("missing")
}

// Ordinary ARMv8.0 code: ret, ldxr, stxr, ldar, stlr, ldr, add, nop, ldaxr, stlxr.
const V80: [u32; 10] = [
    0xd65f03c0, 0xc85f7c20, 0xc8027c20, 0xc8dffc20, 0xc89ffc20, 0xf9400020, 0x91000420, 0xd503201f,
    0xc85ffc20, 0xc802fc20,
];

#[test]
fn lse_atomics_found_only_where_they_are() {
    assert_eq!(elf::scan_lse(&words(&V80), true), elf::LseScan::default());
    // ldadd w0, w0, [x1]; casal x0, x1, [x2]; swp w0, w0, [x1]; casp x0, x1, x2, x3, [x4]
    let lse = [0xb8200020, 0xc8e0fc41, 0xb8208020, 0x48207c82];
    let mut code = V80.to_vec();
    code.extend_from_slice(&lse);
    let scan = elf::scan_lse(&words(&code), true);
    assert_eq!(
        (scan.unguarded, scan.first_unguarded, scan.guarded),
        (4, Some(40), 0)
    );
    let bin = build_elf(true, elf::EM_AARCH64, 0, &[text(&code)]);
    let on_a72 = check_binary("t", &bin, &cpu(elf::EM_AARCH64, true, 8, false), &|_| true);
    assert_eq!(status_of(&on_a72, "lse_atomics"), "fail", "{on_a72:?}");
    let on_a76 = check_binary("t", &bin, &cpu(elf::EM_AARCH64, true, 8, true), &|_| true);
    assert_eq!(status_of(&on_a76, "lse_atomics"), "pass");
    let clean = build_elf(true, elf::EM_AARCH64, 0, &[text(&V80)]);
    assert_eq!(
        status_of(
            &check_binary("t", &clean, &cpu(elf::EM_AARCH64, true, 8, false), &|_| {
                true
            }),
            "lse_atomics"
        ),
        "pass"
    );
}

// __aarch64_cas4_acq as rustc links it (from a stripped liblwmalloc.so):
// adrp x16; ldrb w16, [x16, #4080]; cbz w16, +12; casa w0, w1, [x2]; ret;
// then the ldaxr/stxr fallback loop.
const CAS4_ACQ_HELPER: [u32; 12] = [
    0xb0000370, 0x397fc210, 0x34000070, 0x88e07c41, 0xd65f03c0, 0x2a0003f0, 0x885ffc40, 0x6b10001f,
    0x54000061, 0x88117c41, 0x35ffff91, 0xd65f03c0,
];

#[test]
fn outline_atomics_helpers_pass_on_an_armv8_0_cpu_even_stripped() {
    let scan = elf::scan_lse(&words(&CAS4_ACQ_HELPER), true);
    assert_eq!((scan.unguarded, scan.guarded), (0, 1));
    let a72 = cpu(elf::EM_AARCH64, true, 8, false);
    let bin = build_elf(true, elf::EM_AARCH64, 0, &[text(&CAS4_ACQ_HELPER)]);
    let c = check_binary("helper", &bin, &a72, &|_| true);
    assert_eq!(status_of(&c, "lse_atomics"), "pass", "{c:?}");

    // The same instruction without the check in front of it, or with a
    // branch that does not skip it, is unconditional.
    for broken in [
        {
            let mut w = CAS4_ACQ_HELPER;
            w[1] = 0xd503201f; // nop instead of the flag load
            w
        },
        {
            let mut w = CAS4_ACQ_HELPER;
            w[2] = 0x34000050; // cbz w16, +8: lands on the ret, LSE still runs
            w
        },
        {
            let mut w = CAS4_ACQ_HELPER;
            w[2] = 0x34000071; // cbz w17: tests another register
            w
        },
    ] {
        let scan = elf::scan_lse(&words(&broken), true);
        assert_eq!((scan.unguarded, scan.guarded), (1, 0), "{broken:x?}");
        let bin = build_elf(true, elf::EM_AARCH64, 0, &[text(&broken)]);
        let c = check_binary("broken", &bin, &a72, &|_| true);
        assert_eq!(status_of(&c, "lse_atomics"), "fail", "{c:?}");
    }
}

fn arm_attributes(arch: u8, thumb: u8, fp: u8) -> Vec<u8> {
    let mut attrs = vec![5];
    attrs.extend_from_slice(b"7-A\0"); // Tag_CPU_name, a string: must be skipped
    attrs.extend_from_slice(&[6, arch, 9, thumb, 10, fp, 28, 1]);
    let mut file = vec![1];
    file.extend_from_slice(&((attrs.len() + 5) as u32).to_le_bytes());
    file.extend_from_slice(&attrs);
    let mut sub = Vec::new();
    sub.extend_from_slice(&((4 + 6 + file.len()) as u32).to_le_bytes());
    sub.extend_from_slice(b"aeabi\0");
    sub.extend_from_slice(&file);
    let mut sec = vec![b'A'];
    sec.extend_from_slice(&sub);
    sec
}

#[test]
fn armv7_code_fails_on_an_armv6_cpu() {
    let attrs = |a, t, f| Sec {
        name: ".ARM.attributes",
        kind: 0x7000_0003,
        flags: 0,
        data: arm_attributes(a, t, f),
        link: 0,
    };
    let v7 = build_elf(false, elf::EM_ARM, 0x0500_0400, &[attrs(10, 2, 4)]);
    let zero = cpu(elf::EM_ARM, false, 6, false);
    let c = check_binary("v7", &v7, &zero, &|_| true);
    assert_eq!(status_of(&c, "cpu_arch"), "fail", "{c:?}");
    assert_eq!(status_of(&c, "thumb"), "fail");
    assert_eq!(status_of(&c, "fpu"), "fail");
    assert!(c
        .iter()
        .any(|x| x.name == "float_abi" && x.detail.starts_with("hard-float")));
    let pi4 = cpu(elf::EM_ARM, false, 8, false);
    assert_eq!(
        status_of(&check_binary("v7", &v7, &pi4, &|_| true), "cpu_arch"),
        "pass"
    );
    // Clean v6KZ / Thumb-1 / VFPv2 code runs on the ARM1176.
    let v6 = build_elf(false, elf::EM_ARM, 0x0500_0400, &[attrs(7, 1, 2)]);
    let c = check_binary("v6", &v6, &zero, &|_| true);
    assert_eq!(status_of(&c, "cpu_arch"), "pass", "{c:?}");
    assert!(c.iter().all(|x| x.status != "fail"), "{c:?}");
}

#[test]
fn machine_and_glibc_versions() {
    let dynstr = b"\0libc.so.6\0GLIBC_2.34\0GLIBC_2.2.5\0".to_vec();
    let mut vr = Vec::new();
    for v in [1u16, 2] {
        vr.extend_from_slice(&v.to_le_bytes());
    }
    for v in [1u32, 16, 0] {
        vr.extend_from_slice(&v.to_le_bytes());
    }
    for (name, next) in [(11u32, 16u32), (22, 0)] {
        vr.extend_from_slice(&0u32.to_le_bytes());
        vr.extend_from_slice(&[0, 0, 0, 0]);
        vr.extend_from_slice(&name.to_le_bytes());
        vr.extend_from_slice(&next.to_le_bytes());
    }
    let secs = [
        Sec {
            name: ".dynstr",
            kind: 3,
            flags: 0,
            data: dynstr,
            link: 0,
        },
        Sec {
            name: ".gnu.version_r",
            kind: 0x6fff_fffe,
            flags: 0,
            data: vr,
            link: 1,
        },
    ];
    let bin = build_elf(true, elf::EM_X86_64, 0, &secs);
    let e = Elf::parse(&bin).unwrap();
    assert_eq!(e.needed_versions().len(), 2);
    let mut host = cpu(elf::EM_X86_64, true, 0, false);
    assert_eq!(
        status_of(&check_binary("b", &bin, &host, &|_| true), "glibc"),
        "pass"
    );
    host.glibc = Some((2, 31));
    let c = check_binary("b", &bin, &host, &|_| true);
    assert_eq!(status_of(&c, "glibc"), "fail");
    assert!(c.iter().any(|x| x.detail.contains("GLIBC_2.34")));
    let arm = cpu(elf::EM_AARCH64, true, 8, false);
    assert_eq!(
        status_of(&check_binary("b", &bin, &arm, &|_| true), "elf_machine"),
        "fail"
    );
    assert_eq!(
        status_of(
            &check_binary(
                "b",
                b"not elf at all, clearly not elf, no no no no no no",
                &arm,
                &|_| true
            ),
            "elf"
        ),
        "fail"
    );
}
