//! Walks the executable sections of an ELF file instruction by instruction
//! and reports the first instruction a CPU cannot execute, with the
//! function that contains it. ARM state, Thumb state and literal data are
//! told apart with the mapping symbols (`$a`, `$t`, `$d`; `$x`, `$d` on
//! AArch64) from the symbol table.

use lwm_elf::{self as elf, Elf, Symbol};

use super::arm32::{arm_violation, thumb_violation, Violation};

/// The first violation found and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub violation: Violation,
    pub address: u64,
    /// The containing function, or `?` when no symbol covers the address.
    pub function: String,
    pub total: usize,
}

/// What a scan looked at, for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    pub instructions: usize,
    pub sections: Vec<String>,
    /// Instructions accepted only because a run-time check guards them
    /// (AArch64 outline-atomics helpers), with their functions' names.
    pub allowed: usize,
    pub allowed_in: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Arm,
    Thumb,
    Data,
}

/// Mapping symbols inside [start, end): (address, state), sorted.
fn mapping(symbols: &[Symbol], start: u64, end: u64, default: State) -> Vec<(u64, State)> {
    let mut marks: Vec<(u64, State)> = symbols
        .iter()
        .filter(|s| s.value >= start && s.value < end && s.name.starts_with('$'))
        .filter_map(|s| {
            let kind = s.name[1..].split('.').next()?;
            let state = match kind {
                "a" | "x" => State::Arm,
                "t" => State::Thumb,
                "d" => State::Data,
                _ => return None,
            };
            Some((s.value, state))
        })
        .collect();
    marks.sort_by_key(|m| m.0);
    if marks.first().is_none_or(|m| m.0 > start) {
        marks.insert(0, (start, default));
    }
    marks
}

/// The executable sections with file bytes: (name, address, bytes).
fn code<'a>(elf: &Elf<'a>) -> Vec<(String, u64, &'a [u8])> {
    elf.sections
        .iter()
        .filter(|s| s.flags & 4 != 0 && s.kind != 8)
        .map(|s| (s.name.clone(), s.addr, elf.section_data(s)))
        .collect()
}

fn half(bytes: &[u8], at: usize, little_endian: bool) -> Option<u16> {
    let b: [u8; 2] = bytes.get(at..at + 2)?.try_into().ok()?;
    Some(if little_endian {
        u16::from_le_bytes(b)
    } else {
        u16::from_be_bytes(b)
    })
}

fn function_name(symbols: &[Symbol], address: u64) -> String {
    elf::function_containing(symbols, address)
        .map(|s| s.name.clone())
        .unwrap_or_else(|| "?".into())
}

/// Scans 32-bit ARM code for instructions an ARMv6KZ + VFPv2 CPU lacks.
pub fn scan_arm32(elf: &Elf, symbols: &[Symbol]) -> (Option<Finding>, Coverage) {
    let mut first: Option<(Violation, u64)> = None;
    let mut total = 0;
    let mut coverage = Coverage::default();
    for (name, base, bytes) in code(elf) {
        coverage.sections.push(name);
        let end = base + bytes.len() as u64;
        let marks = mapping(symbols, base, end, State::Arm);
        for (i, &(start, state)) in marks.iter().enumerate() {
            let stop = marks.get(i + 1).map_or(end, |m| m.0);
            let mut at = (start - base) as usize;
            let stop = (stop - base) as usize;
            match state {
                State::Data => {}
                State::Arm => {
                    at = (at + 3) & !3;
                    while at + 4 <= stop {
                        coverage.instructions += 1;
                        if let Some(v) = arm_violation(elf::word_at(bytes, at, elf.little_endian)) {
                            total += 1;
                            first.get_or_insert((v, base + at as u64));
                        }
                        at += 4;
                    }
                }
                State::Thumb => {
                    at = (at + 1) & !1;
                    while at + 2 <= stop {
                        let h = half(bytes, at, elf.little_endian).unwrap_or(0);
                        let next = if at + 4 <= stop {
                            half(bytes, at + 2, elf.little_endian)
                        } else {
                            None
                        };
                        let (violation, length) = thumb_violation(h, next);
                        coverage.instructions += 1;
                        if let Some(v) = violation {
                            total += 1;
                            first.get_or_insert((v, base + at as u64));
                        }
                        at += length as usize;
                    }
                }
            }
        }
    }
    let finding = first.map(|(violation, address)| Finding {
        violation,
        address,
        function: function_name(symbols, address),
        total,
    });
    (finding, coverage)
}

/// Scans AArch64 code for ARMv8.1 LSE atomics (and v8.3 LDAPR) that run
/// unconditionally. Those in outline-atomics helpers run only after a
/// run-time check for LSE and are allowed: recognised by their code shape
/// (`lwm_elf::lse_is_guarded`), the same rule the board's doctor
/// applies to the stripped binaries; the symbols only name them.
pub fn scan_lse(elf: &Elf, symbols: &[Symbol]) -> (Option<Finding>, Coverage) {
    let mut first: Option<u64> = None;
    let mut total = 0;
    let mut coverage = Coverage::default();
    for (name, base, bytes) in code(elf) {
        coverage.sections.push(name);
        let end = base + bytes.len() as u64;
        let marks = mapping(symbols, base, end, State::Arm);
        for (i, &(start, state)) in marks.iter().enumerate() {
            if state == State::Data {
                continue;
            }
            let stop = (marks.get(i + 1).map_or(end, |m| m.0) - base) as usize;
            let mut at = ((start - base) as usize + 3) & !3;
            while at + 4 <= stop {
                coverage.instructions += 1;
                if elf::is_lse(elf::word_at(bytes, at, elf.little_endian)) {
                    let address = base + at as u64;
                    let function = function_name(symbols, address);
                    if elf::lse_is_guarded(bytes, at, elf.little_endian) {
                        coverage.allowed += 1;
                        if !coverage.allowed_in.contains(&function) {
                            coverage.allowed_in.push(function);
                        }
                    } else {
                        total += 1;
                        first.get_or_insert(address);
                    }
                }
                at += 4;
            }
        }
    }
    let finding = first.map(|address| Finding {
        violation: Violation {
            kind: "ARMv8.1 LSE",
            mnemonic: lse_mnemonic(elf, address),
        },
        address,
        function: function_name(symbols, address),
        total,
    });
    (finding, coverage)
}

/// The LSE instruction's family at `address`, for the message.
fn lse_mnemonic(elf: &Elf, address: u64) -> &'static str {
    let w = code(elf)
        .into_iter()
        .find(|(_, base, bytes)| address >= *base && address < base + bytes.len() as u64)
        .map(|(_, base, bytes)| elf::word_at(bytes, (address - base) as usize, elf.little_endian))
        .unwrap_or(0);
    if w & 0x3FA0_7C00 == 0x08A0_7C00 {
        "cas"
    } else if w & 0xBFA0_7C00 == 0x0820_7C00 {
        "casp"
    } else if w & 0x3F20_FC00 == 0x3820_8000 {
        "swp"
    } else if w & 0x3F20_FC00 == 0x3820_C000 {
        "ldapr"
    } else {
        match (w >> 12) & 0x7 {
            0 => "ldadd",
            1 => "ldclr",
            2 => "ldeor",
            3 => "ldset",
            4 => "ldsmax",
            5 => "ldsmin",
            6 => "ldumax",
            _ => "ldumin",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_symbols_split_code_and_data() {
        let sym = |name: &str, value| Symbol {
            name: name.into(),
            value,
            size: 0,
            kind: 0,
            section: 1,
        };
        let symbols = [
            sym("$d.1", 0x120),
            sym("$a", 0x100),
            sym("$t", 0x140),
            sym("$a", 0x300),
        ];
        let marks = mapping(&symbols, 0x100, 0x200, State::Arm);
        assert_eq!(
            marks,
            vec![
                (0x100, State::Arm),
                (0x120, State::Data),
                (0x140, State::Thumb)
            ]
        );
        // No mark at the start: the default state covers the head.
        assert_eq!(
            mapping(&symbols, 0x110, 0x130, State::Thumb)[0],
            (0x110, State::Thumb)
        );
    }
}
