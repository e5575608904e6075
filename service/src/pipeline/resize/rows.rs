//! Resizes an RGB image whose rows arrive one at a time, top to bottom,
//! as a decoder produces them: each output row is made as soon as the
//! last source row under its window has arrived, so the decoded image never
//! exists whole. A 13 MP photo decoded at 1/2 is a 6.9 MB plane and
//! fast_image_resize's intermediate image another 4.4 MB, all first touched
//! by a fresh process; here the source is a ring of a dozen rows.
//!
//! The pixels are fast_image_resize's (`taps`, `kernels`): the vertical pass
//! first, on the columns the horizontal pass reads, as it does for 8-bit
//! samples.

use super::kernels::{self, ROW_SLACK};
use super::taps::Taps;
use fast_image_resize::CropBox;
use image::RgbImage;

pub struct RowResizer {
    vertical: Taps,
    horizontal: Taps,
    /// The source columns the horizontal pass reads: `first..first + count`.
    first_column: usize,
    columns: usize,
    /// Source rows, row `i` at slot `i % slots`; one more slot than the
    /// widest window, so a row is only written over once nothing reads it.
    ring: Vec<u8>,
    slots: usize,
    pitch: usize,
    /// Rows before this one have arrived.
    arrived: usize,
    height: usize,
    next_output: usize,
    /// Four rows of the vertical pass's output, then resampled along together.
    blended: [Vec<u8>; 4],
    /// Where the last batch goes when it is short of four rows.
    spares: [Vec<u8>; 4],
    output: RgbImage,
    avx2: bool,
}

impl RowResizer {
    /// Resizes `crop` of a `width × height` RGB source to `out_width × out_height`.
    pub fn new(width: u32, height: u32, crop: CropBox, out_width: u32, out_height: u32) -> Self {
        let vertical = Taps::lanczos3(height, crop.top, crop.top + crop.height, out_height);
        let mut horizontal = Taps::lanczos3(width, crop.left, crop.left + crop.width, out_width);
        let (first_column, end_column) = horizontal.span();
        horizontal.shift(first_column);
        let columns = end_column - first_column;
        let pitch = width as usize * 3;
        let slots = vertical.widest() + 1;
        Self {
            vertical,
            horizontal,
            first_column,
            columns,
            ring: vec![0; slots * pitch],
            slots,
            pitch,
            arrived: 0,
            height: height as usize,
            next_output: 0,
            // Four pixels past the last read and the SIMD slack (`kernels::horizontal`).
            blended: std::array::from_fn(|_| vec![0; (columns + 4) * 3 + ROW_SLACK]),
            spares: std::array::from_fn(|_| vec![0; out_width as usize * 3]),
            output: RgbImage::new(out_width, out_height),
            avx2: kernels::simd(),
        }
    }

    /// Where source row `index` is to be written (`width × 3` bytes): rows
    /// come in order, each asked for once the one before it is written.
    pub fn row(&mut self, index: usize) -> &mut [u8] {
        debug_assert!(index == self.arrived || index == self.arrived + 1);
        self.arrived = index.min(self.height);
        self.make_ready_rows();
        let slot = index % self.slots;
        &mut self.ring[slot * self.pitch..][..self.pitch]
    }

    /// The resized image, once every source row has been written.
    pub fn finish(mut self) -> RgbImage {
        self.arrived = self.height;
        self.make_ready_rows();
        debug_assert_eq!(self.next_output, self.vertical.len());
        self.output
    }

    fn make_ready_rows(&mut self) {
        let bytes = self.columns * 3;
        let start_byte = self.first_column * 3;
        let mut rows: Vec<&[u8]> = Vec::with_capacity(self.slots);
        while self.next_output < self.vertical.len()
            && self.vertical.end(self.next_output) <= self.arrived
        {
            let (top, weights) = self.vertical.of(self.next_output);
            rows.clear();
            rows.extend((top..top + weights.len()).map(|source| {
                let slot = source % self.slots;
                &self.ring[slot * self.pitch + start_byte..][..bytes]
            }));
            let blended = &mut self.blended[self.next_output % 4][..bytes];
            kernels::vertical(&rows, weights, self.vertical.precision, blended, self.avx2);
            self.next_output += 1;
            if self.next_output.is_multiple_of(4) || self.next_output == self.vertical.len() {
                let made = self.next_output;
                let batch = (&self.blended, &self.horizontal, self.avx2);
                resample_along(batch, made, &mut self.output, &mut self.spares);
            }
        }
    }
}

/// The horizontal pass over the rows blended since the last multiple of
/// four, `made` rows having been blended in all.
fn resample_along(
    (blended, taps, avx2): (&[Vec<u8>; 4], &Taps, bool),
    made: usize,
    output: &mut RgbImage,
    spares: &mut [Vec<u8>; 4],
) {
    let first = (made - 1) / 4 * 4;
    let pitch = output.width() as usize * 3;
    let [a, b, c, d] = blended;
    let srcs = [a.as_slice(), b, c, d];
    let output: &mut [u8] = output;
    let below = &mut output[first * pitch..];
    if made - first == 4 {
        let mut rows = below.chunks_exact_mut(pitch);
        let outs = std::array::from_fn(|_| rows.next().expect("four rows below"));
        kernels::horizontal(srcs, taps, outs, avx2);
    } else {
        // The last batch is short: all four into spares, the real ones kept.
        let [a, b, c, d] = spares;
        kernels::horizontal(srcs, taps, [a, b, c, d], avx2);
        for (out, spare) in below.chunks_exact_mut(pitch).zip(spares.iter()) {
            out.copy_from_slice(spare);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::kernels::PORTABLE_ONLY;
    use super::super::{Fit, framing, resize};
    use super::RowResizer;
    use crate::pipeline::TransformSpec;
    use image::{DynamicImage, RgbImage};

    /// Noise on a gradient, with hard edges: sums overshoot both ways.
    fn photo(width: u32, height: u32, seed: u32) -> RgbImage {
        let mut state = seed | 1;
        RgbImage::from_fn(width, height, |x, y| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let edge = if (x / 7 + y / 5) % 2 == 0 { 255 } else { 0 };
            let noise = (state % 64) as u8;
            image::Rgb([edge, (x * 255 / width) as u8 ^ noise, noise.wrapping_mul(3)])
        })
    }

    fn through_rows(source: &RgbImage, spec: &TransformSpec) -> RgbImage {
        let (width, height) = source.dimensions();
        let crop = framing(width, height, spec).expect("cover and fill");
        let mut resizer = RowResizer::new(width, height, crop, spec.width, spec.height);
        for (index, row) in source.rows().enumerate() {
            let slot = resizer.row(index);
            for (pixel, out) in row.zip(slot.chunks_exact_mut(3)) {
                out.copy_from_slice(&pixel.0);
            }
        }
        resizer.finish()
    }

    #[test]
    fn rows_resize_to_fast_image_resizes_pixels() {
        let sizes = [
            (2016, 1134, 1280, 720),
            (1488, 837, 1280, 720),
            (1500, 1500, 1280, 720),
            (640, 2000, 300, 200),
            (333, 101, 40, 17),
            (97, 61, 96, 60),
            (50, 40, 50, 40),
            (40, 30, 80, 45),
            (7, 5, 1, 1),
        ];
        for portable in [false, true] {
            PORTABLE_ONLY.with(|cell| cell.set(portable));
            for (seed, &(width, height, out_width, out_height)) in sizes.iter().enumerate() {
                let source = photo(width, height, seed as u32 + 1);
                for fit in [Fit::Cover, Fit::Fill] {
                    let spec = TransformSpec {
                        width: out_width,
                        height: out_height,
                        fit,
                        ..TransformSpec::default()
                    };
                    let expected = resize(DynamicImage::ImageRgb8(source.clone()), &spec)
                        .unwrap()
                        .into_rgb8();
                    let got = through_rows(&source, &spec);
                    assert!(
                        got == expected,
                        "{width}×{height} → {out_width}×{out_height} {fit:?}, portable: {portable}"
                    );
                }
            }
        }
        PORTABLE_ONLY.with(|cell| cell.set(false));
    }
}
