//! VP8's boolean decoder (RFC 6386 §7) in libwebp's representation: the same
//! state, loads and end-of-data rule, so both read every bit alike and give
//! up on the same macroblock.

/// One token partition. `Copy`, so a macroblock's decoding works on a copy
/// held in registers and stores it back once.
#[derive(Clone, Copy)]
pub struct BoolReader<'a> {
    data: &'a [u8],
    /// Next byte to load.
    at: usize,
    /// Below this, eight bytes can be loaded at once.
    packed_end: usize,
    /// Undecoded bits; the top `bits + 8` of them are live.
    value: u64,
    /// The range as the last decision left it (1..=256), normalised by the
    /// next one: shifted left until 128..=255, and a 256 left as it is.
    range: u32,
    /// Its leading zeros, less 24, are that shift: the range itself, or
    /// 128 where the range needs none (a 256 would read as one too few).
    norm: u32,
    /// Bits of `value` beyond the 8 being decoded, before that
    /// normalisation; negative after it: load more.
    bits: i32,
    /// Ran past the end: zeros were fed.
    eof: bool,
}

/// Bits taken by one eight-byte load.
const LOAD_BITS: i32 = 56;

impl<'a> BoolReader<'a> {
    /// The state libwebp left a partition in (its range is minus one),
    /// over the partition's remaining bytes.
    pub fn resume(
        data: &'a [u8],
        packed_end: usize,
        value: u64,
        range: u32,
        bits: i32,
        eof: bool,
    ) -> Self {
        BoolReader {
            data,
            at: 0,
            packed_end,
            value,
            range: range + 1,
            norm: 128,
            bits,
            eof,
        }
    }

    pub fn at_end(&self) -> bool {
        self.eof
    }

    #[inline(always)]
    fn load(&mut self) {
        if self.at < self.packed_end {
            let bytes = &self.data[self.at..self.at + 8];
            let bytes = u64::from_be_bytes(bytes.try_into().expect("eight bytes"));
            self.at += (LOAD_BITS / 8) as usize;
            self.value = (bytes >> 8) | (self.value << LOAD_BITS);
            self.bits += LOAD_BITS;
        } else {
            self.load_byte();
        }
    }

    /// Near the end: a byte at a time, then zeros once (`eof`), then none.
    #[cold]
    fn load_byte(&mut self) {
        if let Some(&byte) = self.data.get(self.at) {
            self.at += 1;
            self.value = u64::from(byte) | (self.value << 8);
            self.bits += 8;
        } else if !self.eof {
            self.value <<= 8;
            self.bits += 8;
            self.eof = true;
        } else {
            // Keeps the shifts below in range; the macroblock is refused.
            self.bits = 0;
        }
    }

    /// The normalising shift plus 24. With `LZCNT` the caller runs with
    /// lzcnt enabled; without it, the `| 1` tells the compiler the value
    /// is non-zero, so `leading_zeros` is a `bsr` with no test for zero.
    #[inline(always)]
    fn pending_zeros<const LZCNT: bool>(&self) -> u32 {
        if LZCNT {
            self.norm.leading_zeros()
        } else {
            (self.norm | 1).leading_zeros()
        }
    }

    /// A decision that is 0 with probability `prob` / 256.
    #[inline(always)]
    pub fn bit<const LZCNT: bool>(&mut self, prob: u8) -> bool {
        let Split {
            one,
            zero_range,
            one_range,
            at,
        } = self.split::<LZCNT>(prob);
        let next = if one {
            self.value = self.value.wrapping_sub(u64::from(zero_range) << at);
            one_range
        } else {
            zero_range
        };
        self.range = next;
        self.norm = next;
        one
    }

    /// `bit` without a branch on the outcome, for bits that only add to a
    /// value (1 or 0): near even odds, a branch on each would mispredict
    /// every other time.
    #[inline(always)]
    pub fn decide<const LZCNT: bool>(&mut self, prob: u8) -> u32 {
        let Split {
            one,
            zero_range,
            one_range,
            at,
        } = self.split::<LZCNT>(prob);
        let next = std::hint::select_unpredictable(one, one_range, zero_range);
        let taken = std::hint::select_unpredictable(one, u64::from(zero_range) << at, 0);
        self.value = self.value.wrapping_sub(taken);
        self.range = next;
        self.norm = next;
        u32::from(one)
    }

    /// A decision's arithmetic, libwebp's to the bit.
    ///
    /// libwebp normalises the range after each decision (count its leading
    /// zeros, shift, subtract one), then multiplies it by the next
    /// probability and shifts the product down: eleven cycles from one
    /// decision's range to the next. Here the multiply starts on the range
    /// as the last decision left it, beside the leading-zero count, which
    /// joins it after: `((r << s) - 1) * p` is `(r * p << s) - p`; taken 24
    /// bits higher the shift is the leading-zero count itself, and the
    /// split's `+ 1` rides on the same add. Six cycles.
    #[inline(always)]
    fn split<const LZCNT: bool>(&mut self, prob: u8) -> Split {
        let prob = u32::from(prob);
        let range = self.range;
        let zeros = self.pending_zeros::<LZCNT>();
        let scaled = u64::from(range * prob) << zeros;
        self.bits += 24 - zeros as i32;
        if self.bits < 0 {
            self.load();
        }
        let zero_range = ((scaled + (u64::from(256 - prob) << 24)) >> 32) as u32;
        let at = self.bits as u32;
        Split {
            one: (self.value >> at) as u32 >= zero_range,
            zero_range,
            one_range: (range << (zeros - 24)) - zero_range,
            at,
        }
    }

    /// `magnitude` with the sign of an even-odds decision, as libwebp's
    /// `VP8GetSigned`: the range halves, and the position moves one bit.
    #[inline(always)]
    pub fn signed<const LZCNT: bool>(&mut self, magnitude: i32) -> i32 {
        let shift = self.pending_zeros::<LZCNT>() - 24;
        // libwebp's range plus one, 128..=256.
        let range = self.range << shift;
        self.bits -= shift as i32;
        if self.bits < 0 {
            self.load();
        }
        let at = self.bits as u32;
        let split = (range - 1) >> 1;
        // libwebp's test, the sign of `split - value` as an i32: on a
        // damaged stream the value can outgrow the range by far, and there
        // a plain `value > split` would part from it.
        let value = (self.value >> at) as u32;
        let negative = (split.wrapping_sub(value) as i32) < 0;
        // libwebp's `(range - 1 + mask) | 1`, plus one, without the mask on
        // the way: the same range where it is even, one off where odd.
        let odd = range & 1;
        self.range = std::hint::select_unpredictable(negative, range - odd, range + odd);
        self.norm = 128;
        self.value = self.value.wrapping_sub(std::hint::select_unpredictable(
            negative,
            u64::from(split + 1) << at,
            0,
        ));
        // One bit finer, where the new range (128..=256) needs no shift.
        self.bits -= 1;
        std::hint::select_unpredictable(negative, -magnitude, magnitude)
    }
}

/// One decision, before it is applied.
struct Split {
    one: bool,
    /// libwebp's split plus one: the range a 0 leaves, and what a 1 takes
    /// off the value.
    zero_range: u32,
    one_range: u32,
    /// Where the value's decoded bits start.
    at: u32,
}
