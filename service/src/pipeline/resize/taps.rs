//! Lanczos3 weights in fixed point, computed as fast_image_resize computes
//! them (the same window, trimming, normalisation, precision and rounding),
//! so that resizing rows as they arrive (`rows`) gives its pixels exactly.

use std::f64::consts::PI;

const SUPPORT: f64 = 3.0;
/// i16 weights; the sums keep 8 bits for the result and 2 for overshoot.
const MAX_PRECISION: u32 = 32 - 8 - 2;
const WEIGHT_BITS: u32 = 16 - 1;

/// For each output pixel of one axis: the first input pixel it reads and
/// its weights, in fixed point with `precision` fraction bits.
pub struct Taps {
    starts: Vec<u32>,
    counts: Vec<u32>,
    /// `stride` weights an output, zero past its count: SIMD reads four at a time.
    weights: Vec<i16>,
    stride: usize,
    pub precision: u32,
}

impl Taps {
    /// The taps that resample input pixels `in0..in1` (fractional, within
    /// `0..in_size`) into `out_size` pixels.
    pub fn lanczos3(in_size: u32, in0: f64, in1: f64, out_size: u32) -> Self {
        let scale = (in1 - in0) / f64::from(out_size);
        let filter_scale = scale.max(1.0);
        let radius = SUPPORT * filter_scale;
        let window = radius.ceil() as usize * 2 + 1;
        let stride = window.next_multiple_of(4);
        let mut starts = Vec::with_capacity(out_size as usize);
        let mut counts = Vec::with_capacity(out_size as usize);
        let mut exact = vec![0.0f64; stride * out_size as usize];
        for out in 0..out_size as usize {
            let center = in0 + (out as f64 + 0.5) * scale;
            let first = (center - radius).floor().max(0.0) as u32;
            let last = (center + radius).ceil().min(f64::from(in_size)) as u32;
            let row = &mut exact[out * stride..][..window];
            let (mut start, mut count, mut sum) = (first, 0usize, 0.0);
            for x in first..last {
                let weight = lanczos3((f64::from(x) - (center - 0.5)) / filter_scale);
                // Leading zero weights move the start; trailing ones are cut below.
                if x == start && weight == 0.0 {
                    start += 1;
                } else {
                    row[count] = weight;
                    count += 1;
                    sum += weight;
                }
            }
            while count > 0 && row[count - 1] == 0.0 {
                count -= 1;
            }
            if sum != 0.0 {
                row[..count].iter_mut().for_each(|weight| *weight /= sum);
            }
            starts.push(start);
            counts.push(count as u32);
        }
        let heaviest = exact.iter().copied().fold(0.0f64, f64::max);
        let precision = precision_for(heaviest);
        let unit = f64::from(1u32 << precision);
        let weights = exact
            .chunks_exact(stride)
            .zip(&counts)
            .flat_map(|(row, &count)| {
                let count = count as usize;
                row.iter().enumerate().map(move |(i, w)| {
                    if i < count {
                        (w * unit).round() as i16
                    } else {
                        0
                    }
                })
            })
            .collect();
        Self {
            starts,
            counts,
            weights,
            stride,
            precision,
        }
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Output `index`'s first input pixel and its weights.
    pub fn of(&self, index: usize) -> (usize, &[i16]) {
        let count = self.counts[index] as usize;
        let weights = &self.weights[index * self.stride..][..count];
        (self.starts[index] as usize, weights)
    }

    /// As `of`, the weights padded with zeros to a multiple of four.
    #[inline]
    pub fn padded(&self, index: usize) -> (usize, &[i16]) {
        let count = (self.counts[index] as usize).next_multiple_of(4);
        let weights = &self.weights[index * self.stride..][..count];
        (self.starts[index] as usize, weights)
    }

    /// The input pixels any output reads: `first..end`.
    pub fn span(&self) -> (usize, usize) {
        let first = self.starts.iter().min().map_or(0, |&start| start as usize);
        let end = (0..self.len())
            .map(|index| self.starts[index] as usize + self.counts[index] as usize)
            .max()
            .unwrap_or(first);
        (first, end.max(first))
    }

    /// Where output `index`'s reading ends, one past its last input pixel.
    pub fn end(&self, index: usize) -> usize {
        self.starts[index] as usize + self.counts[index] as usize
    }

    /// The most input pixels one output reads.
    pub fn widest(&self) -> usize {
        self.counts.iter().copied().max().unwrap_or(0) as usize
    }

    /// Shifts every start left by `by` input pixels (for a row that begins there).
    pub fn shift(&mut self, by: usize) {
        self.starts.iter_mut().for_each(|start| *start -= by as u32);
    }
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let x = x * PI;
        x.sin() / x
    }
}

fn lanczos3(x: f64) -> f64 {
    if (-3.0..3.0).contains(&x) {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

/// The most fraction bits that keep the heaviest weight, doubled, in an i16.
fn precision_for(heaviest: f64) -> u32 {
    let mut precision = 0;
    for candidate in 0..MAX_PRECISION {
        precision = candidate;
        if (heaviest * f64::from(1u32 << (candidate + 1))).round() as i32 >= 1 << WEIGHT_BITS {
            break;
        }
    }
    precision
}
