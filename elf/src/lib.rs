//! Just enough ELF reading for the board's doctor and the host's gate: the
//! header (class, machine, ABI flags), sections, the dynamic symbol table,
//! the glibc symbol versions a binary needs, the ARM build attributes, and
//! the bytes of executable code. One reader on both sides, so a binary the
//! gate passes is one the doctor reads the same way.
//!
//! The `object` crate reads the headers, symbol tables and version needs;
//! the ARM build attributes and the LSE scan, which it does not do the way
//! the checks need, are ours.

use std::fmt;

use object::elf::{FileHeader32, FileHeader64, PT_INTERP, SHT_DYNSYM, SHT_NOBITS, SHT_SYMTAB};
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader, SectionTable, Sym};
use object::read::SymbolIndex;
use object::Endianness;

mod arm_attributes;
mod lse;

pub use arm_attributes::{arm_arch_name, parse_arm_attributes};
pub use lse::{is_lse, lse_is_guarded, scan_lse, word_at, LseScan};

pub use object::elf::{
    EF_ARM_ABI_FLOAT_HARD, EF_ARM_ABI_FLOAT_SOFT, EM_386, EM_AARCH64, EM_ARM, EM_RISCV, EM_X86_64,
    ET_DYN, ET_EXEC, STT_FUNC,
};
const SHT_ARM_ATTRIBUTES: u32 = object::elf::SHT_ARM_ATTRIBUTES;
const SHF_EXECINSTR: u64 = object::elf::SHF_EXECINSTR as u64;

#[derive(Debug)]
pub struct ElfError(pub String);

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<object::read::Error> for ElfError {
    fn from(e: object::read::Error) -> Self {
        ElfError(e.to_string())
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
    /// object's section table, for the symbols and versions (None after
    /// `parse_head`).
    table: Option<Table<'a>>,
}

/// The section table of a 32- or 64-bit file.
enum Table<'a> {
    Elf32(SectionTable<'a, FileHeader32<Endianness>>),
    Elf64(SectionTable<'a, FileHeader64<Endianness>>),
}

/// Runs `$body` with `$t` bound to the file's section table, whichever its
/// class; `Default::default()` when the sections were not read.
macro_rules! with_table {
    ($elf:expr, $t:ident => $body:expr) => {
        match &$elf.table {
            Some(Table::Elf32($t)) => $body,
            Some(Table::Elf64($t)) => $body,
            None => Default::default(),
        }
    };
}

/// A file class: object's header type, and how its table is kept.
trait Class: FileHeader<Endian = Endianness> {
    fn table(t: SectionTable<'_, Self>) -> Table<'_>;
}

impl Class for FileHeader32<Endianness> {
    fn table(t: SectionTable<'_, Self>) -> Table<'_> {
        Table::Elf32(t)
    }
}

impl Class for FileHeader64<Endianness> {
    fn table(t: SectionTable<'_, Self>) -> Table<'_> {
        Table::Elf64(t)
    }
}

impl<'a> Elf<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Elf<'a>, ElfError> {
        Self::read(data, true)
    }

    /// The ELF header and program headers only (machine, class, type,
    /// interpreter; no sections), so the start of a file is enough: see
    /// `file_head`.
    pub fn parse_head(data: &'a [u8]) -> Result<Elf<'a>, ElfError> {
        Self::read(data, false)
    }

    fn read(data: &'a [u8], with_sections: bool) -> Result<Elf<'a>, ElfError> {
        if data.len() < 52 || &data[..4] != b"\x7fELF" {
            return err("not an ELF file");
        }
        match data[4] {
            1 => Self::read_class::<FileHeader32<Endianness>>(data, with_sections),
            2 => Self::read_class::<FileHeader64<Endianness>>(data, with_sections),
            _ => err("bad ELF class"),
        }
    }

    fn read_class<H: Class>(data: &'a [u8], with_sections: bool) -> Result<Elf<'a>, ElfError> {
        let header = H::parse(data)?;
        let endian = header.endian()?;
        let mut interpreter = None;
        for ph in header.program_headers(endian, data)? {
            // Not object's `interpreter()`, which wants a NUL: in a `.debug`
            // companion the segment's bytes are not the path.
            if ph.p_type(endian) == PT_INTERP {
                let path = ph
                    .data(endian, data)
                    .map_err(|()| ElfError("truncated ELF file".into()))?;
                interpreter = Some(text(path).trim_end_matches('\0').to_string());
            }
        }
        let mut e = Elf {
            data,
            is64: header.is_class_64(),
            little_endian: header.is_little_endian(),
            os_abi: header.e_ident().os_abi,
            elf_type: header.e_type(endian),
            machine: header.e_machine(endian),
            flags: header.e_flags(endian),
            interpreter,
            sections: Vec::new(),
            table: None,
        };
        if with_sections {
            let table = header.sections(endian, data)?;
            e.sections = table
                .iter()
                .map(|s| Section {
                    name: table.section_name(endian, s).map(text).unwrap_or_default(),
                    kind: s.sh_type(endian),
                    flags: s.sh_flags(endian).into(),
                    addr: s.sh_addr(endian).into(),
                    offset: s.sh_offset(endian).into(),
                    size: s.sh_size(endian).into(),
                    link: s.sh_link(endian),
                })
                .collect();
            e.table = Some(H::table(table));
        }
        Ok(e)
    }

    fn endian(&self) -> Endianness {
        if self.little_endian {
            Endianness::Little
        } else {
            Endianness::Big
        }
    }

    pub fn section_data(&self, s: &Section) -> &'a [u8] {
        if s.kind == SHT_NOBITS {
            return &[];
        }
        let range = usize::try_from(s.offset)
            .ok()
            .and_then(|start| Some(start..start.checked_add(usize::try_from(s.size).ok()?)?));
        range.and_then(|r| self.data.get(r)).unwrap_or(&[])
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
        with_table!(self, t => symbols(t, self.endian(), self.data, kind))
    }

    /// (symbol, version) for every undefined dynamic symbol bound to a
    /// version it needs, e.g. ("fcntl64", "GLIBC_2.28"): which symbols make
    /// a binary need a newer library than a board has.
    pub fn needed_symbol_versions(&self) -> Vec<(String, String)> {
        with_table!(self, t => symbol_versions(t, self.endian(), self.data))
    }

    /// (library, version) pairs from .gnu.version_r, e.g. ("libc.so.6", "GLIBC_2.34").
    pub fn needed_versions(&self) -> Vec<(String, String)> {
        with_table!(self, t => version_needs(t, self.endian(), self.data))
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

/// The first symbol table of type `kind`; empty if there is none or it
/// cannot be read.
fn symbols<'a, H: Class>(
    t: &SectionTable<'a, H>,
    endian: Endianness,
    data: &'a [u8],
    kind: u32,
) -> Vec<Symbol> {
    let Ok(table) = t.symbols(endian, data, kind) else {
        return Vec::new();
    };
    table
        .iter()
        .map(|sym| Symbol {
            name: table.symbol_name(endian, sym).map(text).unwrap_or_default(),
            value: sym.st_value(endian).into(),
            size: sym.st_size(endian).into(),
            kind: sym.st_type(),
            section: sym.st_shndx(endian),
        })
        .collect()
}

/// See `Elf::needed_symbol_versions`.
fn symbol_versions<'a, H: Class>(
    t: &SectionTable<'a, H>,
    endian: Endianness,
    data: &'a [u8],
) -> Vec<(String, String)> {
    let (Ok(table), Ok(Some(versions))) = (
        t.symbols(endian, data, SHT_DYNSYM),
        t.versions(endian, data),
    ) else {
        return Vec::new();
    };
    let needed = |i: usize, sym: &H::Sym| {
        let name = table
            .symbol_name(endian, sym)
            .ok()
            .filter(|n| !n.is_empty())?;
        let index = versions.version_index(endian, SymbolIndex(i));
        // A version from .gnu.version_r (with a file), not one defined here.
        let version = versions.version(index).ok()??;
        version.file()?;
        Some((text(name), text(version.name())))
    };
    table
        .iter()
        .enumerate()
        .filter(|(_, sym)| sym.is_undefined(endian))
        .filter_map(|(i, sym)| needed(i, sym))
        .collect()
}

/// See `Elf::needed_versions`.
fn version_needs<'a, H: Class>(
    t: &SectionTable<'a, H>,
    endian: Endianness,
    data: &'a [u8],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(Some((mut needs, link))) = t.gnu_verneed(endian, data) else {
        return out;
    };
    let Ok(strings) = t.strings(endian, data, link) else {
        return out;
    };
    while let Ok(Some((need, mut versions))) = needs.next() {
        let library = need.file(endian, strings).map(text).unwrap_or_default();
        while let Ok(Some(version)) = versions.next() {
            let name = version.name(endian, strings).map(text).unwrap_or_default();
            out.push((library.clone(), name));
        }
    }
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
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
