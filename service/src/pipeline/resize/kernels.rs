//! The two passes of a fixed-point separable resize over 8-bit samples:
//! `vertical` blends rows into one (any channel count: it works on bytes),
//! `horizontal` blends RGB pixels along a row. Each has an AVX2 form, picked
//! at run time, and a portable one; both give the same bytes (integer sums
//! from `half`, shifted by the precision and clamped, as fast_image_resize).

use super::taps::Taps;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Whether the AVX2 forms may run here (tests turn them off to compare).
pub fn simd() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        #[cfg(test)]
        if PORTABLE_ONLY.with(std::cell::Cell::get) {
            return false;
        }
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[cfg(test)]
thread_local! {
    pub static PORTABLE_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn clamp(sum: i32, precision: u32) -> u8 {
    (sum >> precision).clamp(0, 255) as u8
}

/// `out[i] = Σ weights[k] · rows[k][i]`, for every byte `i` of `out`.
pub fn vertical(rows: &[&[u8]], weights: &[i16], precision: u32, out: &mut [u8], avx2: bool) {
    debug_assert_eq!(rows.len(), weights.len());
    debug_assert!(rows.iter().all(|row| row.len() >= out.len()));
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: AVX2 is present (`simd`), and every row holds `out.len()` bytes.
        done = unsafe { vertical_avx2(rows, weights, precision, out) };
    }
    let _ = avx2;
    let half = 1 << (precision - 1);
    for (i, sample) in out.iter_mut().enumerate().skip(done) {
        let sum = rows.iter().zip(weights).fold(half, |sum, (row, &w)| {
            sum + i32::from(w) * i32::from(row[i])
        });
        *sample = clamp(sum, precision);
    }
}

/// Blends 32 bytes at a time; returns how many bytes of `out` it wrote.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn vertical_avx2(rows: &[&[u8]], weights: &[i16], precision: u32, out: &mut [u8]) -> usize {
    let half = _mm256_set1_epi32(1 << (precision - 1));
    let shift = _mm_cvtsi32_si128(precision as i32);
    let zero = _mm256_setzero_si256();
    let blocks = out.len() / 32;
    let pairs = rows.len() / 2;
    for block in 0..blocks {
        let at = block * 32;
        let mut sums = [half; 4];
        for pair in 0..pairs {
            let (k, l) = (2 * pair, 2 * pair + 1);
            // SAFETY: `at + 32 <= out.len() <= row.len()`.
            let a = unsafe { _mm256_loadu_si256(rows[k].as_ptr().add(at).cast()) };
            let b = unsafe { _mm256_loadu_si256(rows[l].as_ptr().add(at).cast()) };
            let both = (weights[k] as u16 as i32) | ((weights[l] as i32) << 16);
            accumulate(&mut sums, a, b, _mm256_set1_epi32(both));
        }
        if !rows.len().is_multiple_of(2) {
            let last = rows.len() - 1;
            // SAFETY: as above.
            let a = unsafe { _mm256_loadu_si256(rows[last].as_ptr().add(at).cast()) };
            accumulate(
                &mut sums,
                a,
                zero,
                _mm256_set1_epi32(weights[last] as u16 as i32),
            );
        }
        let sums = sums.map(|sum| _mm256_sra_epi32(sum, shift));
        // Packing undoes the unpacking's order lane by lane.
        let low = _mm256_packs_epi32(sums[0], sums[1]);
        let high = _mm256_packs_epi32(sums[2], sums[3]);
        let bytes = _mm256_packus_epi16(low, high);
        // SAFETY: `at + 32 <= out.len()`.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(at).cast(), bytes) };
    }
    blocks * 32
}

/// Adds rows `a` and `b` times their weights (`pair`: a's low, b's high in
/// each i32) to the four sums of 8 samples: bytes interleaved row by row,
/// widened to i16 pairs, each pair times its two weights in one madd.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2")]
fn accumulate(sums: &mut [__m256i; 4], a: __m256i, b: __m256i, pair: __m256i) {
    let zero = _mm256_setzero_si256();
    let low = _mm256_unpacklo_epi8(a, b);
    let high = _mm256_unpackhi_epi8(a, b);
    let parts = [
        _mm256_unpacklo_epi8(low, zero),
        _mm256_unpackhi_epi8(low, zero),
        _mm256_unpacklo_epi8(high, zero),
        _mm256_unpackhi_epi8(high, zero),
    ];
    for (sum, part) in sums.iter_mut().zip(parts) {
        *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(part, pair));
    }
}

/// Bytes a source row needs past its last pixel for `horizontal`: the
/// AVX2 form reads 16 bytes at the start of each group of four pixels.
pub const ROW_SLACK: usize = 16;

/// Four RGB rows resampled along: `outs[r][x] = Σ weights · srcs[r][start..]`
/// for each output pixel `x`, with `taps.padded(x)`'s first source pixel and
/// weights. Each source row holds every pixel any output reads, four more,
/// and `ROW_SLACK` bytes.
pub fn horizontal(srcs: [&[u8]; 4], taps: &Taps, outs: [&mut [u8]; 4], avx2: bool) {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: AVX2 is present, and the rows have the slack the reads need.
        unsafe { horizontal_avx2(srcs, taps, outs) };
        return;
    }
    let _ = avx2;
    let half = 1 << (taps.precision - 1);
    for (src, out) in srcs.into_iter().zip(outs) {
        for (x, pixel) in out.chunks_exact_mut(3).enumerate() {
            let (start, weights) = taps.padded(x);
            for (channel, sample) in pixel.iter_mut().enumerate() {
                let sum = weights.iter().enumerate().fold(half, |sum, (k, &w)| {
                    sum + i32::from(w) * i32::from(src[(start + k) * 3 + channel])
                });
                *sample = clamp(sum, taps.precision);
            }
        }
    }
}

/// Two rows a register, one a lane, four source pixels a step: the 16
/// bytes from the first, spread to `[r r g g b b 0 0]` i16 pairs of pixels
/// 0 and 1, then of 2 and 3, each pair against its two weights in one madd.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn horizontal_avx2(srcs: [&[u8]; 4], taps: &Taps, outs: [&mut [u8]; 4]) {
    #[rustfmt::skip]
    let first_two = _mm256_setr_epi8(
        0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1,
        0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1,
    );
    #[rustfmt::skip]
    let last_two = _mm256_setr_epi8(
        6, -1, 9, -1, 7, -1, 10, -1, 8, -1, 11, -1, -1, -1, -1, -1,
        6, -1, 9, -1, 7, -1, 10, -1, 8, -1, 11, -1, -1, -1, -1, -1,
    );
    let half = _mm256_set1_epi32(1 << (taps.precision - 1));
    let shift = _mm_cvtsi32_si128(taps.precision as i32);
    let pixels = outs[0].len() / 3;
    debug_assert!(outs.iter().all(|out| out.len() == pixels * 3));
    let load_two = |upper: &[u8], lower: &[u8], at: usize| {
        debug_assert!(at + 16 <= upper.len() && at + 16 <= lower.len());
        // SAFETY: the rows hold the pixels read plus slack (see `horizontal`).
        unsafe {
            _mm256_inserti128_si256::<1>(
                _mm256_castsi128_si256(_mm_loadu_si128(upper.as_ptr().add(at).cast())),
                _mm_loadu_si128(lower.as_ptr().add(at).cast()),
            )
        }
    };
    let outs = outs.map(|out| out.as_mut_ptr());
    for x in 0..pixels {
        let (start, weights) = taps.padded(x);
        let (mut upper, mut lower) = (half, half);
        for (group, four) in weights.chunks_exact(4).enumerate() {
            let at = (start + group * 4) * 3;
            let pair = |k: usize| {
                _mm256_set1_epi32((four[k] as u16 as i32) | (i32::from(four[k + 1]) << 16))
            };
            let (early, late) = (pair(0), pair(2));
            for (sum, rows) in [(&mut upper, 0), (&mut lower, 2)] {
                let both = load_two(srcs[rows], srcs[rows + 1], at);
                let early = _mm256_madd_epi16(_mm256_shuffle_epi8(both, first_two), early);
                let late = _mm256_madd_epi16(_mm256_shuffle_epi8(both, last_two), late);
                *sum = _mm256_add_epi32(*sum, _mm256_add_epi32(early, late));
            }
        }
        for (sum, rows) in [(upper, 0), (lower, 2)] {
            let sum = _mm256_sra_epi32(sum, shift);
            let bytes = _mm256_packus_epi16(_mm256_packs_epi32(sum, sum), sum);
            let pixel = [
                _mm_cvtsi128_si32(_mm256_castsi256_si128(bytes)),
                _mm_cvtsi128_si32(_mm256_extracti128_si256::<1>(bytes)),
            ];
            for (row, pixel) in pixel.into_iter().enumerate() {
                let rgb = pixel.to_le_bytes();
                // SAFETY: pixel `x` of a row of `pixels` pixels.
                unsafe {
                    std::ptr::copy_nonoverlapping(rgb.as_ptr(), outs[rows + row].add(x * 3), 3)
                };
            }
        }
    }
}
