//! Just enough ELF reading for the board's doctor and the host's gate: the
//! header (class, machine, ABI flags), sections, the dynamic symbol table,
//! the glibc symbol versions a binary needs, the ARM build attributes, and
//! the bytes of executable code. One reader on both sides, so a binary the
//! gate passes is one the doctor reads the same way.

use std::fmt;

pub const EM_386: u16 = 3;
pub const EM_ARM: u16 = 40;
pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;
pub const EM_RISCV: u16 = 243;
pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;
const SHT_SYMTAB: u32 = 2;
const SHT_DYNSYM: u32 = 11;
const SHT_GNU_VERNEED: u32 = 0x6fff_fffe;
const SHT_GNU_VERSYM: u32 = 0x6fff_ffff;
/// Symbol type of a function (`STT_FUNC`).
pub const STT_FUNC: u8 = 2;
const SHT_ARM_ATTRIBUTES: u32 = 0x7000_0003;
const SHF_EXECINSTR: u64 = 4;
const PT_INTERP: u32 = 3;
pub const EF_ARM_ABI_FLOAT_SOFT: u32 = 0x200;
pub const EF_ARM_ABI_FLOAT_HARD: u32 = 0x400;

#[derive(Debug)]
pub struct ElfError(pub String);

/// One version a file needs from a library (.gnu.version_r).
struct VersionNeed {
    library: String,
    version: String,
    /// The index symbols name it by in .gnu.version.
    index: u16,
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: &str) -> Result<T, ElfError> {
    Err(ElfError(msg.to_string()))
}

pub struct Section {
    pub name: String,
    pub kind: u32,
    pub flags: u64,
    /// Virtual address when loaded (sh_addr).
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    pub link: u32,
}

/// One symbol table entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    /// Address (for ARM Thumb functions, with bit 0 set).
    pub value: u64,
    pub size: u64,
    /// `STT_*` type (`STT_FUNC` for functions).
    pub kind: u8,
    /// Section index; 0 for an undefined symbol.
    pub section: u16,
}

/// The function containing `addr`: a function symbol whose [value, value +
/// size) holds it, else the nearest function symbol below it (hand-written
/// assembly often has size 0). Thumb bit ignored. None below the first.
pub fn function_containing(symbols: &[Symbol], addr: u64) -> Option<&Symbol> {
    let funcs = || {
        symbols
            .iter()
            .filter(|s| s.kind == STT_FUNC && s.section != 0 && !s.name.is_empty())
    };
    let start = |s: &Symbol| s.value & !1;
    funcs()
        .find(|s| start(s) <= addr && addr < start(s) + s.size)
        .or_else(|| {
            funcs()
                .filter(|s| start(s) <= addr)
                .max_by_key(|s| start(s))
        })
}

pub struct Elf<'a> {
    data: &'a [u8],
    pub is64: bool,
    pub little_endian: bool,
    pub os_abi: u8,
    pub elf_type: u16,
    pub machine: u16,
    pub flags: u32,
    pub interpreter: Option<String>,
    pub sections: Vec<Section>,
}

impl<'a> Elf<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Elf<'a>, ElfError> {
        let mut e = Self::parse_head(data)?;
        e.read_sections()?;
        Ok(e)
    }

    /// The ELF header and program headers only (machine, class, type,
    /// interpreter; no sections), so the start of a file is enough: see
    /// `file_head`.
    pub fn parse_head(data: &'a [u8]) -> Result<Elf<'a>, ElfError> {
        if data.len() < 52 || &data[..4] != b"\x7fELF" {
            return err("not an ELF file");
        }
        let is64 = match data[4] {
            1 => false,
            2 => true,
            _ => return err("bad ELF class"),
        };
        let little_endian = match data[5] {
            1 => true,
            2 => false,
            _ => return err("bad ELF data encoding"),
        };
        let mut e = Elf {
            data,
            is64,
            little_endian,
            os_abi: data[7],
            elf_type: 0,
            machine: 0,
            flags: 0,
            interpreter: None,
            sections: Vec::new(),
        };
        if is64 && data.len() < 64 {
            return err("truncated ELF header");
        }
        e.elf_type = e.u16(16)?;
        e.machine = e.u16(18)?;
        let (phoff, flags_at, sizes_at) = if is64 {
            (e.u64(32)?, 48, 54)
        } else {
            (e.u32(28)? as u64, 36, 42)
        };
        e.flags = e.u32(flags_at)?;
        let phentsize = e.u16(sizes_at)? as u64;
        let phnum = e.u16(sizes_at + 2)? as u64;

        for i in 0..phnum {
            let ph = (phoff + i * phentsize) as usize;
            if e.u32(ph)? == PT_INTERP {
                let (off, size) = if is64 {
                    (e.u64(ph + 8)?, e.u64(ph + 32)?)
                } else {
                    (e.u32(ph + 4)? as u64, e.u32(ph + 16)? as u64)
                };
                let bytes = e.slice(off, size)?;
                e.interpreter = Some(
                    String::from_utf8_lossy(bytes)
                        .trim_end_matches('\0')
                        .to_string(),
                );
            }
        }
        Ok(e)
    }

    /// Adds the section table to a header parsed by `parse_head`.
    fn read_sections(&mut self) -> Result<(), ElfError> {
        let e = &*self;
        let (shoff, sizes_at) = if e.is64 {
            (e.u64(40)?, 58)
        } else {
            (e.u32(32)? as u64, 46)
        };
        let shentsize = e.u16(sizes_at)? as u64;
        let shnum = e.u16(sizes_at + 2)? as u64;
        let shstrndx = e.u16(sizes_at + 4)? as usize;
        let mut raw = Vec::new();
        for i in 0..shnum {
            let sh = (shoff + i * shentsize) as usize;
            let s = if e.is64 {
                (
                    e.u32(sh)?,
                    e.u32(sh + 4)?,
                    e.u64(sh + 8)?,
                    e.u64(sh + 16)?,
                    e.u64(sh + 24)?,
                    e.u64(sh + 32)?,
                    e.u32(sh + 40)?,
                )
            } else {
                (
                    e.u32(sh)?,
                    e.u32(sh + 4)?,
                    e.u32(sh + 8)? as u64,
                    e.u32(sh + 12)? as u64,
                    e.u32(sh + 16)? as u64,
                    e.u32(sh + 20)? as u64,
                    e.u32(sh + 24)?,
                )
            };
            raw.push(s);
        }
        let names = raw.get(shstrndx).map(|s| (s.4, s.5));
        let mut sections = Vec::new();
        for (name, kind, flags, addr, offset, size, link) in raw {
            let name = match names {
                Some((o, sz)) => e
                    .slice(o, sz)
                    .ok()
                    .map(|t| cstr(t, name as usize))
                    .unwrap_or_default(),
                None => String::new(),
            };
            sections.push(Section {
                name,
                kind,
                flags,
                addr,
                offset,
                size,
                link,
            });
        }
        self.sections = sections;
        Ok(())
    }

    fn slice(&self, off: u64, size: u64) -> Result<&'a [u8], ElfError> {
        let end = off
            .checked_add(size)
            .ok_or_else(|| ElfError("bad offset".into()))?;
        if end > self.data.len() as u64 {
            return err("truncated ELF file");
        }
        Ok(&self.data[off as usize..end as usize])
    }

    fn bytes<const N: usize>(&self, at: usize) -> Result<[u8; N], ElfError> {
        self.data
            .get(at..at + N)
            .map(|b| b.try_into().unwrap())
            .ok_or_else(|| ElfError("truncated ELF file".into()))
    }

    /// The `N`-byte integer at `at` in the file's byte order.
    fn int<const N: usize, T>(
        &self,
        at: usize,
        le: fn([u8; N]) -> T,
        be: fn([u8; N]) -> T,
    ) -> Result<T, ElfError> {
        let b = self.bytes::<N>(at)?;
        Ok(if self.little_endian { le(b) } else { be(b) })
    }

    pub fn u16(&self, at: usize) -> Result<u16, ElfError> {
        self.int(at, u16::from_le_bytes, u16::from_be_bytes)
    }

    pub fn u32(&self, at: usize) -> Result<u32, ElfError> {
        self.int(at, u32::from_le_bytes, u32::from_be_bytes)
    }

    pub fn u64(&self, at: usize) -> Result<u64, ElfError> {
        self.int(at, u64::from_le_bytes, u64::from_be_bytes)
    }

    pub fn section_data(&self, s: &Section) -> &'a [u8] {
        if s.kind == 8 {
            return &[]; // SHT_NOBITS
        }
        self.slice(s.offset, s.size).unwrap_or(&[])
    }

    pub fn machine_name(&self) -> String {
        machine_name(self.machine)
    }

    /// Names of defined symbols in the dynamic symbol table.
    pub fn dynamic_symbols(&self) -> Vec<String> {
        self.symbol_entries(true)
            .into_iter()
            .filter(|sym| sym.section != 0)
            .map(|sym| sym.name)
            .collect()
    }

    /// Every entry of .symtab (or of .dynsym with `dynamic`), with address,
    /// size and type: what symbolising an address needs. Empty when the
    /// table is absent (a stripped file has no .symtab).
    pub fn symbol_entries(&self, dynamic: bool) -> Vec<Symbol> {
        let kind = if dynamic { SHT_DYNSYM } else { SHT_SYMTAB };
        let mut out = Vec::new();
        for (s, strings) in self.linked_sections(kind) {
            let entsize = if self.is64 { 24 } else { 16 };
            for i in 0..self.section_data(s).len() / entsize {
                let at = (s.offset as usize) + i * entsize;
                // 64-bit: name u32, info u8, other u8, shndx u16, value u64, size u64.
                // 32-bit: name u32, value u32, size u32, info u8, other u8, shndx u16.
                let fields = if self.is64 {
                    (
                        self.u32(at),
                        self.bytes::<1>(at + 4),
                        self.u16(at + 6),
                        self.u64(at + 8),
                        self.u64(at + 16),
                    )
                } else {
                    (
                        self.u32(at),
                        self.bytes::<1>(at + 12),
                        self.u16(at + 14),
                        self.u32(at + 4).map(u64::from),
                        self.u32(at + 8).map(u64::from),
                    )
                };
                let (Ok(name), Ok([info]), Ok(section), Ok(value), Ok(size)) = fields else {
                    break;
                };
                out.push(Symbol {
                    name: cstr(strings, name as usize),
                    value,
                    size,
                    kind: info & 0xf,
                    section,
                });
            }
        }
        out
    }

    /// (symbol, version) for every undefined dynamic symbol bound to a
    /// version it needs, e.g. ("fcntl64", "GLIBC_2.28"): which symbols make
    /// a binary need a newer library than a board has.
    pub fn needed_symbol_versions(&self) -> Vec<(String, String)> {
        let Some(versym) = self.sections.iter().find(|s| s.kind == SHT_GNU_VERSYM) else {
            return Vec::new();
        };
        // vna_other (the version index) -> version name, from .gnu.version_r.
        let names: std::collections::HashMap<u16, String> = self
            .version_needs()
            .into_iter()
            .map(|need| (need.index, need.version))
            .collect();
        let mut out = Vec::new();
        for (i, sym) in self.symbol_entries(true).iter().enumerate() {
            if sym.section != 0 || sym.name.is_empty() {
                continue; // defined here, or the null entry
            }
            let Ok(index) = self.u16(versym.offset as usize + 2 * i) else {
                break;
            };
            if let Some(version) = names.get(&(index & 0x7fff)) {
                out.push((sym.name.clone(), version.clone()));
            }
        }
        out
    }

    /// (library, version) pairs from .gnu.version_r, e.g. ("libc.so.6", "GLIBC_2.34").
    pub fn needed_versions(&self) -> Vec<(String, String)> {
        self.version_needs()
            .into_iter()
            .map(|need| (need.library, need.version))
            .collect()
    }

    /// Every version a file needs, from .gnu.version_r: the library, the
    /// version's name and its index (vna_other less the hidden bit).
    fn version_needs(&self) -> Vec<VersionNeed> {
        let mut out = Vec::new();
        for (s, strings) in self.linked_sections(SHT_GNU_VERNEED) {
            let mut at = s.offset as usize;
            let end = (s.offset + s.size) as usize;
            // Bounded: a corrupt chain must not loop forever.
            for _ in 0..1024 {
                if at + 16 > end {
                    break;
                }
                let (Ok(cnt), Ok(file), Ok(aux), Ok(next)) = (
                    self.u16(at + 2),
                    self.u32(at + 4),
                    self.u32(at + 8),
                    self.u32(at + 12),
                ) else {
                    break;
                };
                let library = cstr(strings, file as usize);
                let mut a = at + aux as usize;
                for _ in 0..cnt {
                    let (Ok(other), Ok(name), Ok(anext)) =
                        (self.u16(a + 6), self.u32(a + 8), self.u32(a + 12))
                    else {
                        break;
                    };
                    out.push(VersionNeed {
                        library: library.clone(),
                        version: cstr(strings, name as usize),
                        index: other & 0x7fff,
                    });
                    if anext == 0 {
                        break;
                    }
                    a += anext as usize;
                }
                if next == 0 {
                    break;
                }
                at += next as usize;
            }
        }
        out
    }

    /// The sections of `kind` with the string table each one's `sh_link`
    /// names; a section whose link is out of range is skipped.
    fn linked_sections(&self, kind: u32) -> impl Iterator<Item = (&Section, &'a [u8])> + '_ {
        self.sections
            .iter()
            .filter(move |s| s.kind == kind)
            .filter_map(|s| {
                let strtab = self.sections.get(s.link as usize)?;
                Some((s, self.section_data(strtab)))
            })
    }

    /// The "aeabi" build attributes of an ARM file: (tag, numeric value).
    pub fn arm_attributes(&self) -> Vec<(u64, u64)> {
        let Some(s) = self.sections.iter().find(|s| s.kind == SHT_ARM_ATTRIBUTES) else {
            return Vec::new();
        };
        parse_arm_attributes(self.section_data(s), self.little_endian)
    }

    /// Executable sections: (name, file bytes).
    pub fn code_sections(&self) -> Vec<(&str, &'a [u8])> {
        self.sections
            .iter()
            .filter(|s| s.flags & SHF_EXECINSTR != 0)
            .map(|s| (s.name.as_str(), self.section_data(s)))
            .collect()
    }
}

fn cstr(table: &[u8], at: usize) -> String {
    let Some(rest) = table.get(at..) else {
        return String::new();
    };
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end]).into_owned()
}

fn uleb(data: &[u8], at: &mut usize) -> u64 {
    let (mut v, mut shift) = (0u64, 0);
    while let Some(&b) = data.get(*at) {
        *at += 1;
        if shift < 64 {
            v |= ((b & 0x7f) as u64) << shift;
        }
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    v
}

/// Parse an .ARM.attributes section; keeps the numeric attributes of the
/// "aeabi" File scope (string-valued ones are skipped).
pub fn parse_arm_attributes(data: &[u8], little_endian: bool) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    if data.first() != Some(&b'A') {
        return out;
    }
    let mut at = 1;
    while at + 4 <= data.len() {
        let len = word_at(data, at, little_endian) as usize;
        if len < 5 || at + len > data.len() {
            break;
        }
        let sub = &data[at + 4..at + len];
        at += len;
        let Some(nul) = sub.iter().position(|&b| b == 0) else {
            continue;
        };
        if &sub[..nul] != b"aeabi" {
            continue;
        }
        let mut p = nul + 1;
        while p + 5 <= sub.len() {
            let tag = sub[p];
            let size = word_at(sub, p + 1, little_endian) as usize;
            if size < 5 || p + size > sub.len() {
                break;
            }
            if tag == 1 {
                let body = &sub[p + 5..p + size];
                let mut q = 0;
                while q < body.len() {
                    let t = uleb(body, &mut q);
                    let is_string = t == 4 || t == 5 || t == 67 || (t > 32 && t % 2 == 1);
                    if t == 32 {
                        uleb(body, &mut q);
                        while q < body.len() && body[q] != 0 {
                            q += 1;
                        }
                        q += 1;
                    } else if is_string {
                        while q < body.len() && body[q] != 0 {
                            q += 1;
                        }
                        q += 1;
                    } else {
                        out.push((t, uleb(body, &mut q)));
                    }
                }
            }
            p += size;
        }
    }
    out
}

pub fn machine_name(m: u16) -> String {
    match m {
        EM_386 => "i386".into(),
        EM_ARM => "arm".into(),
        EM_X86_64 => "x86_64".into(),
        EM_AARCH64 => "aarch64".into(),
        EM_RISCV => "riscv".into(),
        other => format!("machine {other}"),
    }
}

/// Tag_CPU_arch values of the ARM ABI, by name.
pub fn arm_arch_name(v: u64) -> &'static str {
    match v {
        0 => "pre-v4",
        1 => "v4",
        2 => "v4T",
        3 => "v5T",
        4 => "v5TE",
        5 => "v5TEJ",
        6 => "v6",
        7 => "v6KZ",
        8 => "v6T2",
        9 => "v6K",
        10 => "v7",
        11 => "v6-M",
        12 => "v6S-M",
        13 => "v7E-M",
        14 => "v8",
        15 => "v8-R",
        16 => "v8-M.baseline",
        17 => "v8-M.mainline",
        _ => "later than v8",
    }
}

/// LSE instructions in a stretch of AArch64 code, told apart by whether
/// they can run on an ARMv8.0 CPU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LseScan {
    /// LSE (or LDAPR) instructions executed unconditionally: SIGILL on a
    /// CPU without LSE.
    pub unguarded: usize,
    /// Byte offset of the first unguarded one.
    pub first_unguarded: Option<usize>,
    /// LSE instructions that run only after a run-time check found LSE
    /// (see [`lse_is_guarded`]): safe everywhere.
    pub guarded: usize,
}

/// Scans AArch64 code (4-byte aligned instruction words) for ARMv8.1 LSE
/// atomics and v8.3 LDAPR.
pub fn scan_lse(code: &[u8], little_endian: bool) -> LseScan {
    let mut scan = LseScan::default();
    for at in (0..code.len() / 4 * 4).step_by(4) {
        if !is_lse(word_at(code, at, little_endian)) {
            continue;
        }
        if lse_is_guarded(code, at, little_endian) {
            scan.guarded += 1;
        } else {
            scan.unguarded += 1;
            scan.first_unguarded.get_or_insert(at);
        }
    }
    scan
}

/// Whether the LSE instruction at byte offset `at` of `code` runs only
/// when the CPU has LSE. Rust's compiler-builtins and libgcc build their
/// outline-atomics helpers (`__aarch64_cas4_acq`, ...) as
///
/// ```text
/// ldrb wN, [xM, #flag]   // __aarch64_have_lse_atomics, set at start-up
/// cbz  wN, 1f            // no LSE: the ARMv8.0 exclusive loop after ret
/// <one LSE instruction>
/// ret
/// 1: ldxr/stxr loop
/// ```
///
/// Recognising that shape, not the helpers' names, works on stripped
/// binaries, which is what a board receives, so the board's doctor and
/// the host's gate use the same rule.
pub fn lse_is_guarded(code: &[u8], at: usize, little_endian: bool) -> bool {
    const RET: u32 = 0xd65f_03c0;
    if at < 8 || at + 8 > code.len() {
        return false;
    }
    let load = word_at(code, at - 8, little_endian);
    let branch = word_at(code, at - 4, little_endian);
    let after = word_at(code, at + 4, little_endian);
    // LDRB (immediate, unsigned offset), 32-bit destination.
    let is_ldrb = load & 0xffc0_0000 == 0x3940_0000;
    // CBZ (32-bit) whose target is `at + 8`: imm19 = 3 words from `at - 4`.
    let skips_lse_and_ret = branch & !0x1f == 0x3400_0060;
    is_ldrb && skips_lse_and_ret && load & 0x1f == branch & 0x1f && after == RET
}

/// The 4-byte word at byte offset `at` of `code` in the file's byte order.
/// Panics if fewer than 4 bytes remain.
pub fn word_at(code: &[u8], at: usize, little_endian: bool) -> u32 {
    let a: [u8; 4] = code[at..at + 4].try_into().expect("4 bytes");
    if little_endian {
        u32::from_le_bytes(a)
    } else {
        u32::from_be_bytes(a)
    }
}

/// Whether the AArch64 instruction word `w` is an ARMv8.1 LSE atomic (CAS,
/// CASP, LD<op>, SWP) or a v8.3 LDAPR: illegal on an ARMv8.0 core.
pub fn is_lse(w: u32) -> bool {
    let atomic_op = w & 0x3F20_0C00 == 0x3820_0000; // LD<op>, SWP, LDAPR
    let cas = w & 0x3FA0_7C00 == 0x08A0_7C00;
    let casp = w & 0xBFA0_7C00 == 0x0820_7C00;
    atomic_op || cas || casp
}

/// The first 64 KiB of the file at `path`: enough for `Elf::parse_head` on
/// any ordinary binary. The agent reads no more than this while preparing a
/// run: reading a whole multi-MB binary would raise its RSS high-water mark,
/// which Linux carries into every child's `ru_maxrss` across fork and exec,
/// the floor of every measurement after it.
pub fn file_head(path: &std::path::Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(64 * 1024);
    std::fs::File::open(path)
        .ok()?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .ok()?;
    Some(head)
}
