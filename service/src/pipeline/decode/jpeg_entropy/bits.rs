//! The bit reader: eight bytes at a time where none is 0xFF.

use super::table::{Fast, Table, long_code};

/// The bit reader over one scan's entropy-coded data: a left-aligned 64-bit
/// buffer of `count` bits; past a marker or the end it feeds zeros
/// (`padding` of them), which an MCU may not use. It is `Copy` so that an
/// MCU decodes with it in registers (`ScanDecoder::decode_mcu`); nothing
/// takes its address in the loop.
#[derive(Clone, Copy)]
pub(super) struct Bits<'a> {
    pub(super) data: &'a [u8],
    pub(super) at: usize,
    pub(super) buffer: u64,
    pub(super) count: u32,
    pub(super) padding: u32,
    /// `at` is on a marker (or the end): nothing more is read from `data`.
    pub(super) stopped: bool,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

impl<'a> Bits<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            at: 0,
            buffer: 0,
            count: 0,
            padding: 0,
            stopped: false,
        }
    }

    /// At least 56 bits in the buffer afterwards: a symbol of any length
    /// with its value takes ≤ 32.
    #[inline(always)]
    pub(super) fn refill(&mut self) {
        if let Some(window) = self.data.get(self.at..self.at + 8) {
            let word = u64::from_be_bytes(window.try_into().expect("eight bytes"));
            // No byte is 0xFF: no stuffing, no marker.
            let inverted = !word;
            if (inverted.wrapping_sub(ONES) & !inverted & HIGHS) == 0 {
                // Bits below the whole bytes taken are the next byte's,
                // which the next fill ORs in again at the same place.
                self.buffer |= word >> self.count;
                let taken = (63 - self.count) >> 3;
                self.at += taken as usize;
                self.count += taken << 3;
                return;
            }
        }
        *self = self.refill_bytewise();
    }

    #[cold]
    #[inline(never)]
    fn refill_bytewise(mut self) -> Self {
        while self.count <= 56 {
            let byte = if self.stopped {
                self.padding += 8;
                0
            } else {
                match self.data.get(self.at) {
                    None => {
                        self.stopped = true;
                        continue;
                    }
                    Some(&0xFF) => {
                        // 0xFF 0x00 is a 0xFF of data (after any fill 0xFFs);
                        // anything else is a marker, where the data stops.
                        let fills = self.data[self.at..]
                            .iter()
                            .take_while(|&&byte| byte == 0xFF)
                            .count();
                        if self.data.get(self.at + fills) == Some(&0) {
                            self.at += fills + 1;
                            0xFF
                        } else {
                            self.stopped = true;
                            continue;
                        }
                    }
                    Some(&byte) => {
                        self.at += 1;
                        byte
                    }
                }
            };
            self.buffer |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
        self
    }

    #[inline(always)]
    pub(super) fn peek(&self, bits: u32) -> usize {
        (self.buffer >> (64 - bits)) as usize
    }

    #[inline(always)]
    pub(super) fn consume(&mut self, bits: u32) {
        self.buffer <<= bits;
        self.count -= bits;
    }

    /// `size` (≤ 16) bits as an unsigned number.
    #[inline(always)]
    pub(super) fn take(&mut self, size: u32) -> u32 {
        if size == 0 {
            return 0;
        }
        let bits = (self.buffer >> (64 - size)) as u32;
        self.consume(size);
        bits
    }

    /// The symbol of an entry that is not whole: its code fits the lookahead
    /// or it does not.
    #[inline(always)]
    pub(super) fn symbol(&mut self, table: &Table, entry: Fast) -> u8 {
        let (length, symbol) = match entry.first_bits() {
            0 => long_code(table, self.peek(17) as i32),
            length => (length, (entry.0 >> 32) as u8),
        };
        self.consume(length);
        symbol
    }

    /// The next marker from `at` on: where its 0xFF fills start and where
    /// its code is. 0xFF 0x00 is data, not a marker.
    pub(super) fn next_marker(&self) -> Option<(usize, usize)> {
        let mut from = self.at;
        loop {
            let fills = from + memchr::memchr(0xFF, self.data.get(from..)?)?;
            let code = fills
                + self.data[fills..]
                    .iter()
                    .take_while(|&&byte| byte == 0xFF)
                    .count();
            match self.data.get(code)? {
                0 => from = code + 1,
                _ => return Some((fills, code)),
            }
        }
    }

    /// Bytes of data not decoded before `fills`: whole bytes in the buffer
    /// and bytes not read yet.
    pub(super) fn stray_bytes_before(&self, fills: usize) -> usize {
        let in_buffer = (self.count - self.padding.min(self.count)) / 8;
        in_buffer as usize + fills.saturating_sub(self.at)
    }
}
