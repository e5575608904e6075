//! Huffman tables as the decoder looks them up: each code with its value's
//! bits in one lookup, two symbols where both fit.

use std::ffi::CStr;

/// Bits of lookahead: a code and its value that fit decode in one lookup.
pub(super) const FAST_BITS: u32 = 10;
pub(super) const FAST_MASK: usize = (1 << FAST_BITS) - 1;

/// An end of block moves past the last coefficient, storing a zero at 63
/// (still zero: nothing after the end of block was stored).
pub(super) const EOB_ADVANCE: u32 = 64;

/// One DHT table as libjpeg keeps it (`bits[1..=16]` counts, `values` in
/// code order), validated by libjpeg before the scan starts.
#[repr(C)]
pub struct HuffmanSpec {
    pub bits: [u8; 17],
    pub values: [u8; 256],
}

/// A table ready for decoding.
pub(super) struct Table {
    /// By the next `FAST_BITS` bits (see `Fast`).
    pub(super) fast: Box<[u64; 1 << FAST_BITS]>,
    /// Canonical decoding of codes of every length, as libjpeg's `jpeg_huff_decode`.
    max_code: [i32; 17],
    value_offset: [i32; 17],
    values: [u8; 256],
}

/// A fast entry, packed in a u64. A whole symbol is a code with its value
/// bits; an AC entry holds two when both fit the lookahead, since the chain
/// of lookups (the next one needs this one's length) is what decoding waits on.
/// - bits 0..8: the bits all its whole symbols take; 0 when the first is not whole;
/// - bits 8..16: the first symbol's bits; when it is not whole, its code's
///   length if the code fits the lookahead, else 0;
/// - bits 16..24 and 24..32: each whole symbol's zig-zag advance (run + 1;
///   16 for a run of 16 zeros, `EOB_ADVANCE` for an end of block); 0 for
///   no second symbol;
/// - bits 32..48 and 48..64: each whole symbol's signed value (the second a
///   copy of the first when there is none: storing it again changes
///   nothing); the symbol itself when the first is not whole.
#[derive(Clone, Copy)]
pub(super) struct Fast(pub(super) u64);

impl Fast {
    fn whole(bits: u32, advance: u32, value: i32) -> Self {
        let value = u64::from(value as u16);
        Fast((u64::from(bits) * 0x101) | (u64::from(advance) << 16) | (value << 32) | (value << 48))
    }

    fn code_only(length: u32, symbol: u8) -> Self {
        Fast(u64::from(length) << 8 | u64::from(symbol) << 32)
    }

    pub(super) fn bits(self) -> u32 {
        (self.0 & 0xFF) as u32
    }

    pub(super) fn first_bits(self) -> u32 {
        (self.0 >> 8 & 0xFF) as u32
    }

    pub(super) fn advance(self) -> u32 {
        (self.0 >> 16 & 0xFF) as u32
    }

    /// `self` then `second`, both whole, as one entry.
    fn pair(self, second: Fast) -> Self {
        let bits = u64::from(self.bits() + second.bits());
        Fast(
            self.0 & 0x0000_FFFF_00FF_FF00
                | bits
                | u64::from(second.advance()) << 24
                | (second.0 >> 32 & 0xFFFF) << 48,
        )
    }
}

/// The value `bits` stands for in `size` bits (JPEG's "extend").
pub(super) fn extend(bits: u32, size: u32) -> i32 {
    if size == 0 {
        return 0;
    }
    let bits = bits as i32;
    if bits < 1 << (size - 1) {
        bits - (1 << size) + 1
    } else {
        bits
    }
}

impl Table {
    pub(super) fn new(spec: &HuffmanSpec, dc: bool) -> Result<Self, &'static CStr> {
        let bad = c"Bogus Huffman table definition";
        // Figures C.1 and C.2: each symbol's length and code; a length's
        // codes must leave its all-ones code unused (libjpeg's check).
        let (mut lengths, mut codes) = (Vec::with_capacity(256), Vec::with_capacity(256));
        let mut code = 0u32;
        for length in 1..=16u32 {
            for _ in 0..spec.bits[length as usize] {
                if lengths.len() == 256 {
                    return Err(bad);
                }
                lengths.push(length);
                codes.push(code);
                code += 1;
            }
            if code >= 1 << length {
                return Err(bad);
            }
            code <<= 1;
        }
        let values = &spec.values[..lengths.len()];
        if dc && values.iter().any(|&symbol| symbol > 15) {
            return Err(bad);
        }
        let mut table = Table {
            fast: Box::new([0; 1 << FAST_BITS]),
            max_code: [-1; 17],
            value_offset: [0; 17],
            values: spec.values,
        };
        let mut first = 0;
        for length in 1..=16 {
            let count = spec.bits[length] as usize;
            if count > 0 {
                table.value_offset[length] = first as i32 - codes[first] as i32;
                table.max_code[length] = codes[first + count - 1] as i32;
                first += count;
            }
        }
        for ((&length, &code), &symbol) in lengths.iter().zip(&codes).zip(values) {
            if length > FAST_BITS {
                break;
            }
            let (run, size) = if dc {
                (0, u32::from(symbol))
            } else {
                (u32::from(symbol >> 4), u32::from(symbol & 15))
            };
            let spare = FAST_BITS - length;
            for rest in 0..1u32 << spare {
                let index = (code << spare | rest) as usize;
                table.fast[index] = if length + size > FAST_BITS {
                    Fast::code_only(length, symbol)
                } else {
                    let advance = match (size, run) {
                        (0, 15) => 16,
                        (0, _) if !dc => EOB_ADVANCE,
                        _ => run + 1,
                    };
                    let bits = rest >> (spare - size) & ((1 << size) - 1);
                    Fast::whole(length + size, advance, extend(bits, size))
                }
                .0;
            }
        }
        if !dc {
            table.pair_up();
        }
        Ok(table)
    }

    /// Adds to each whole entry the whole symbol its spare bits hold, if
    /// any: that symbol's own entry, looked up with the spare bits first
    /// and zeros after, is whole within the spare bits.
    fn pair_up(&mut self) {
        let single = self.fast.clone();
        for (index, entry) in self.fast.iter_mut().enumerate() {
            let first = Fast(*entry);
            let used = first.bits();
            if used == 0 || first.advance() == EOB_ADVANCE {
                continue;
            }
            let second = Fast(single[(index << used) & FAST_MASK]);
            if second.bits() != 0 && second.bits() <= FAST_BITS - used {
                *entry = first.pair(second).0;
            }
        }
    }
}

/// A code longer than the lookahead (or one whose value does not fit it),
/// from the next 17 bits: libjpeg's canonical walk over lengths. No code
/// matching (corrupt data) is taken as libjpeg-turbo's fast path takes it,
/// which decodes nearly every MCU of a file without restart markers: 17
/// bits and a symbol of 0 (an end of block, or a DC difference of 0).
#[cold]
#[inline(never)]
pub(super) fn long_code(table: &Table, next: i32) -> (u32, u8) {
    (1..=16)
        .find_map(|length| {
            let code = next >> (17 - length);
            (code <= table.max_code[length]).then(|| {
                let index = (code + table.value_offset[length]) as usize & 0xFF;
                (length as u32, table.values[index])
            })
        })
        .unwrap_or((17, 0))
}
