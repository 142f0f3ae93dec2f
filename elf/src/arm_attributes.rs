//! The ARM build attributes (`.ARM.attributes`): what a 32-bit ARM binary
//! says it needs (architecture, FPU, Thumb). No crate reads them the way the
//! gate and the doctor need, so this reader is ours.

use crate::word_at;

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
