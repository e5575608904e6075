//! A lossy WebP's entropy decoding: the VP8 residual tokens (RFC 6386 §13)
//! and the macroblock headers (`modes`), decoded in place of libwebp's
//! `ParseResiduals` and `VP8ParseIntraModeRow` (`webp_frame.c` plugs them
//! in; reconstruction, scaling and colour stay libwebp's). They are four
//! fifths of a large photo's decode, all of it one boolean decoder's chain
//! of dependent decisions, so what counts is that chain:
//!
//! - `reader` takes a decision in six cycles of latency where libwebp takes
//!   eleven (the normalisation moves off the multiply's path);
//! - bits that only add to a value, and signs, take no branch: at the
//!   qualities where tokens are many they are near even odds;
//! - a macroblock's 25 blocks go through one loop, the reader in registers
//!   (libwebp passes it by pointer to a function per block).
//!
//! Coefficients, modes and verdicts are libwebp's: the reader keeps its
//! arithmetic to the bit, damaged streams included, and a macroblock that
//! runs past the end of its partition is refused, as libwebp refuses it
//! (`tests`, and the `decode_webp` fuzz target, hold both to the same
//! pixels and verdicts).

mod hooks;
mod modes;
mod reader;
#[cfg(test)]
mod tests;

pub use hooks::{TOKEN_HOOKS, TokenHooks};
use modes::{ModeDecoder, ModeLayout};
use reader::BoolReader;

/// Token types (`bands` rows): 16×16 AC, its DC (Y2), chroma, 4×4.
const I16_AC: usize = 0;
const Y2: usize = 1;
const CHROMA: usize = 2;
const I4: usize = 3;
const TYPES: usize = 4;
const BANDS: usize = 8;
const CONTEXTS: usize = 3;
const PROBAS: usize = 11;

/// Position in a block → its probability band; the 17th is read after
/// the last coefficient and never used.
const BAND: [usize; 17] = [0, 1, 2, 3, 6, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 0];
const ZIGZAG: [usize; 16] = [0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15];

/// The extra bits' probabilities of categories 3 to 6 (values from 11).
const CAT3: &[u8] = &[173, 148, 140];
const CAT4: &[u8] = &[176, 155, 140, 135];
const CAT5: &[u8] = &[180, 157, 141, 134, 130];
const CAT6: &[u8] = &[254, 254, 243, 230, 196, 177, 153, 140, 133, 130, 129];

/// `ff_vp8_partition` in `webp_frame.c`: libwebp's `VP8BitReader` state.
#[repr(C)]
pub struct Partition {
    value: u64,
    range: u32,
    bits: i32,
    buf: *const u8,
    buf_end: *const u8,
    buf_max: *const u8,
    eof: i32,
}

impl Partition {
    /// # Safety
    /// `buf..buf_end` is readable for `'a`; `buf_max` is in the same
    /// allocation.
    unsafe fn reader<'a>(&self) -> BoolReader<'a> {
        // SAFETY: `buf..buf_end` is the partition's unread rest.
        let data = unsafe {
            let length = self.buf_end.offset_from(self.buf).max(0) as usize;
            std::slice::from_raw_parts(self.buf, length)
        };
        // SAFETY: same allocation as `buf`.
        let packed_end = unsafe { self.buf_max.offset_from(self.buf) }.max(0) as usize;
        BoolReader::resume(
            data,
            packed_end,
            self.value,
            self.range,
            self.bits,
            self.eof != 0,
        )
    }
}

/// `ff_vp8_frame`: the frame's partitions, probabilities and quantizers.
#[repr(C)]
pub struct FrameLayout {
    parts: [Partition; 8],
    num_parts: u32,
    /// `[TYPES][BANDS][CONTEXTS][PROBAS]`.
    bands: *const u8,
    /// Per segment: Y1 DC, AC; Y2 DC, AC; chroma DC, AC.
    quant: [[i32; 6]; 4],
    dither: [i32; 4],
    /// The first partition, at its macroblock headers.
    modes: Partition,
    mode_layout: ModeLayout,
}

/// libwebp's `VP8MB`: which blocks along an edge had coefficients.
#[repr(C)]
pub struct EdgeContext {
    /// Bits 0–3 luma blocks, 4–5 U, 6–7 V.
    nz: u8,
    nz_dc: u8,
}

/// `ff_vp8_macroblock`: one macroblock's inputs and outputs.
#[repr(C)]
pub struct Macroblock {
    coeffs: *mut [i16; 384],
    top: *mut EdgeContext,
    left: *mut EdgeContext,
    non_zero_y: u32,
    non_zero_uv: u32,
    is_i4x4: u8,
    segment: u8,
    dither: u8,
}

/// Probabilities by position rather than band: `[type][position][context]`.
type Probas = [[[[u8; PROBAS]; CONTEXTS]; 17]; TYPES];

pub struct TokenDecoder<'a> {
    modes: ModeDecoder<'a>,
    parts: Vec<BoolReader<'a>>,
    probas: Box<Probas>,
    quant: [[i32; 6]; 4],
    dither: [u8; 4],
    /// lzcnt and BMI2 are there.
    bmi: bool,
}

impl<'a> TokenDecoder<'a> {
    /// # Safety
    /// The layout's partition pointers span readable bytes for `'a`, and
    /// `bands` points to `TYPES * BANDS * CONTEXTS * PROBAS` bytes.
    unsafe fn new(layout: &FrameLayout) -> Self {
        let count = (layout.num_parts as usize).clamp(1, layout.parts.len());
        // SAFETY: the caller's promise.
        let parts = layout.parts[..count]
            .iter()
            .map(|part| unsafe { part.reader() })
            .collect();
        // SAFETY: the caller's promise.
        let bands =
            unsafe { std::slice::from_raw_parts(layout.bands, TYPES * BANDS * CONTEXTS * PROBAS) };
        let mut probas: Box<Probas> = Box::new([[[[0; PROBAS]; CONTEXTS]; 17]; TYPES]);
        for (kind, positions) in probas.iter_mut().enumerate() {
            for (position, contexts) in positions.iter_mut().enumerate() {
                let band = (kind * BANDS + BAND[position]) * CONTEXTS * PROBAS;
                for (context, row) in contexts.iter_mut().enumerate() {
                    let at = band + context * PROBAS;
                    row.copy_from_slice(&bands[at..at + PROBAS]);
                }
            }
        }
        TokenDecoder {
            // SAFETY: the caller's promise.
            modes: ModeDecoder::new(unsafe { layout.modes.reader() }, layout.mode_layout),
            parts,
            probas,
            quant: layout.quant,
            dither: layout.dither.map(|amplitude| amplitude.clamp(0, 255) as u8),
            bmi: hooks::has_bmi(),
        }
    }

    /// libwebp's `ParseResiduals`: the macroblock's 16 luma blocks (after
    /// their DCs' own block when it is 16×16-predicted) and 8 chroma blocks,
    /// with the edge contexts, the per-block coefficient codes and dithering.
    /// Returns whether every coefficient is zero, and whether the partition
    /// ran past its end.
    ///
    /// All 25 blocks go through one loop and one copy of the block decoder:
    /// about one decision in five mispredicts (the probabilities the stream
    /// codes them with say as much), and the front end then refetches from
    /// a small loop rather than from 25 inlined copies.
    #[inline(always)]
    fn decode<const LZCNT: bool>(
        &mut self,
        part: usize,
        mb: &mut Macroblock,
        top: &mut EdgeContext,
        left: &mut EdgeContext,
        coeffs: &mut [i16; 384],
    ) -> (bool, bool) {
        let part = part.min(self.parts.len() - 1);
        let mut reader = self.parts[part];
        let segment = usize::from(mb.segment & 3);
        let [y1_dc, y1_ac, y2_dc, y2_ac, uv_dc, uv_ac] = self.quant[segment];
        coeffs.fill(0);
        let i16 = mb.is_i4x4 == 0;
        let (luma, first) = if i16 { (I16_AC, 1) } else { (I4, 0) };
        // Which blocks had coefficients, by column and by row: bits 0–3
        // luma, 4–5 U, 6–7 V, 8 the Y2 block.
        let mut tnz = u32::from(top.nz) | u32::from(top.nz_dc) << 8;
        let mut lnz = u32::from(left.nz) | u32::from(left.nz_dc) << 8;
        let mut codes = 0u64;
        let mut dc = [0i16; 16];
        for index in usize::from(!i16)..25 {
            let Placement {
                column,
                row,
                code_at,
            } = PLACEMENT[index];
            let (kind, first, quant) = match index {
                0 => (Y2, 0, [y2_dc, y2_ac]),
                1..=16 => (luma, first, [y1_dc, y1_ac]),
                _ => (CHROMA, 0, [uv_dc, uv_ac]),
            };
            let out = match index {
                0 => &mut dc,
                _ => <&mut [i16; 16]>::try_from(&mut coeffs[16 * (index - 1)..16 * index])
                    .expect("16"),
            };
            let context = ((tnz >> column & 1) + (lnz >> row & 1)) as usize;
            let count = block::<LZCNT>(&mut reader, &self.probas[kind], context, quant, first, out);
            let non_zero = u32::from(count > first);
            tnz = tnz & !(1 << column) | non_zero << column;
            lnz = lnz & !(1 << row) | non_zero << row;
            if index == 0 {
                if count > 1 {
                    inverse_walsh_hadamard(&dc, coeffs);
                } else {
                    let dc0 = (i32::from(dc[0]) + 3) >> 3;
                    for at in (0..256).step_by(16) {
                        coeffs[at] = dc0 as i16;
                    }
                }
            } else {
                let dc_non_zero = coeffs[16 * (index - 1)] != 0;
                codes |= u64::from(code(count, dc_non_zero)) << code_at;
            }
        }
        top.nz = tnz as u8;
        left.nz = lnz as u8;
        top.nz_dc = (tnz >> 8) as u8;
        left.nz_dc = (lnz >> 8) as u8;
        let non_zero_y = codes as u32;
        let non_zero_uv = (codes >> 32) as u32;
        mb.non_zero_y = non_zero_y;
        mb.non_zero_uv = non_zero_uv;
        // No dithering where a chroma block has fewer than three coefficients.
        mb.dither = if non_zero_uv & 0xaaaa != 0 {
            0
        } else {
            self.dither[segment]
        };

        self.parts[part] = reader;
        (non_zero_y | non_zero_uv == 0, reader.at_end())
    }
}

/// Where a block's contexts and code go: its bit in the column and row
/// contexts, and its two code bits (libwebp's `non_zero_y` in the low
/// half, `non_zero_uv` in the high one).
#[derive(Clone, Copy)]
struct Placement {
    column: u32,
    row: u32,
    code_at: u32,
}

/// Block 0 is the Y2 block, 1–16 luma in raster order, 17–20 U, 21–24 V.
const PLACEMENT: [Placement; 25] = {
    let mut table = [Placement {
        column: 8,
        row: 8,
        code_at: 0,
    }; 25];
    let mut block = 0;
    while block < 16 {
        table[1 + block] = Placement {
            column: (block % 4) as u32,
            row: (block / 4) as u32,
            code_at: 30 - 2 * block as u32,
        };
        block += 1;
    }
    let mut block = 0;
    while block < 8 {
        let (channel, within) = (block / 4, block % 4);
        table[17 + block] = Placement {
            column: (4 + 2 * channel + within % 2) as u32,
            row: (4 + 2 * channel + within / 2) as u32,
            code_at: (32 + 8 * channel + 6 - 2 * within) as u32,
        };
        block += 1;
    }
    table
};

/// One 4×4 block's tokens from position `first`, dequantized into `out` in
/// natural order; returns the position after the last non-zero one.
#[inline(always)]
fn block<const LZCNT: bool>(
    reader: &mut BoolReader,
    probas: &[[[u8; PROBAS]; CONTEXTS]; 17],
    context: usize,
    quant: [i32; 2],
    first: usize,
    out: &mut [i16; 16],
) -> usize {
    let mut n = first;
    let mut p = &probas[n][context];
    while n < 16 {
        if !reader.bit::<LZCNT>(p[0]) {
            return n; // end of block
        }
        while !reader.bit::<LZCNT>(p[1]) {
            n += 1;
            if n == 16 {
                return 16;
            }
            p = &probas[n][0];
        }
        let next = &probas[n + 1];
        let magnitude = if !reader.bit::<LZCNT>(p[2]) {
            p = &next[1];
            1
        } else {
            let value = large_value::<LZCNT>(reader, p);
            p = &next[2];
            value
        };
        let q = if n > 0 { quant[1] } else { quant[0] };
        out[ZIGZAG[n]] = (reader.signed::<LZCNT>(magnitude) * q) as i16;
        n += 1;
    }
    16
}

/// A magnitude of 2 or more (RFC 6386 §13.2).
#[inline(always)]
fn large_value<const LZCNT: bool>(reader: &mut BoolReader, p: &[u8; PROBAS]) -> i32 {
    let d = |reader: &mut BoolReader, prob: u8| reader.decide::<LZCNT>(prob) as i32;
    if !reader.bit::<LZCNT>(p[3]) {
        if !reader.bit::<LZCNT>(p[4]) {
            2
        } else {
            3 + d(reader, p[5])
        }
    } else if !reader.bit::<LZCNT>(p[6]) {
        if !reader.bit::<LZCNT>(p[7]) {
            5 + d(reader, 159)
        } else {
            let high = d(reader, 165);
            7 + 2 * high + d(reader, 145)
        }
    } else {
        let high = d(reader, p[8]) as usize;
        let low = d(reader, p[9 + high]) as usize;
        let category = 2 * high + low;
        let extra = [CAT3, CAT4, CAT5, CAT6][category];
        let mut value = 0;
        for &prob in extra {
            value = 2 * value + d(reader, prob);
        }
        value + 3 + (8 << category)
    }
}

/// A block's two code bits: 0 no coefficient, 1 only the DC, 2 some of
/// the first three, 3 more (libwebp picks its inverse transform by them).
fn code(count: usize, dc_non_zero: bool) -> u32 {
    if count > 3 {
        3
    } else if count > 1 {
        2
    } else {
        u32::from(dc_non_zero)
    }
}

/// The Y2 block's inverse transform, into each luma block's DC
/// (libwebp's `TransformWHT`).
fn inverse_walsh_hadamard(input: &[i16; 16], coeffs: &mut [i16; 384]) {
    let mut columns = [0i32; 16];
    for i in 0..4 {
        let a0 = i32::from(input[i]) + i32::from(input[12 + i]);
        let a1 = i32::from(input[4 + i]) + i32::from(input[8 + i]);
        let a2 = i32::from(input[4 + i]) - i32::from(input[8 + i]);
        let a3 = i32::from(input[i]) - i32::from(input[12 + i]);
        columns[i] = a0 + a1;
        columns[8 + i] = a0 - a1;
        columns[4 + i] = a3 + a2;
        columns[12 + i] = a3 - a2;
    }
    for i in 0..4 {
        let row = &columns[4 * i..4 * i + 4];
        let dc = row[0] + 3;
        let a0 = dc + row[3];
        let a1 = row[1] + row[2];
        let a2 = row[1] - row[2];
        let a3 = dc - row[3];
        let out = 64 * i;
        coeffs[out] = ((a0 + a1) >> 3) as i16;
        coeffs[out + 16] = ((a3 + a2) >> 3) as i16;
        coeffs[out + 32] = ((a0 - a1) >> 3) as i16;
        coeffs[out + 48] = ((a3 - a2) >> 3) as i16;
    }
}
