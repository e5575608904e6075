//! PNG streamed row by row through an integer box shrink, the way libvips
//! shrinks before it reduces: a 5120×2880 RGBA photo bound for 1280×720 is
//! never held at full size, only one band of rows and the image at 1/k.
//! Lanczos then does the last factor-of-two-or-less, so quality holds.

use super::super::Rejection;
use image::{DynamicImage, RgbImage, RgbaImage};
use png::{ColorType, Transformations};
use std::io::Cursor;

/// Decodes with a box shrink of `k` = ⌊(1 / need) / 2⌋ when that is at least
/// 2; `None` when it is not worth it, or for interlaced files (their rows
/// arrive in seven passes): the generic decoder takes those.
pub fn decode_shrunk(bytes: &[u8], need: f64) -> Option<Result<DynamicImage, Rejection>> {
    let k = (1.0 / need / 2.0).floor();
    if !(2.0..=64.0).contains(&k) {
        return None;
    }
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(Transformations::normalize_to_color8());
    let mut reader = match decoder.read_info() {
        Ok(reader) => reader,
        Err(error) => return Some(Err(Rejection::undecodable(error))),
    };
    if reader.info().interlaced {
        return None;
    }
    let (width, height) = (reader.info().width, reader.info().height);
    let (color, _) = reader.output_color_type();
    let mut shrink = BoxShrink::new(width, height, k as u32, color);
    loop {
        match reader.next_row() {
            Ok(Some(row)) => shrink.push(row.data()),
            Ok(None) => break,
            Err(error) => return Some(Err(Rejection::undecodable(error))),
        }
    }
    Some(shrink.finish())
}

/// Sums k×k blocks of source pixels. With alpha, colours are weighted by it,
/// so transparent pixels lend no colour to their neighbours.
struct BoxShrink {
    k: u32,
    source_width: u32,
    source_height: u32,
    color: ColorType,
    alpha: bool,
    out_width: u32,
    /// Per output pixel of the band: colour sums (weighted by alpha) and the alpha sum.
    sums: Vec<u32>,
    rows_in_band: u32,
    rows_seen: u32,
    out: Vec<u8>,
}

impl BoxShrink {
    fn new(width: u32, height: u32, k: u32, color: ColorType) -> Self {
        let alpha = matches!(color, ColorType::Rgba | ColorType::GrayscaleAlpha);
        let out_width = width.div_ceil(k);
        let out_height = height.div_ceil(k);
        let channels = if alpha { 4 } else { 3 };
        Self {
            k,
            source_width: width,
            source_height: height,
            color,
            alpha,
            out_width,
            sums: vec![0; out_width as usize * 4],
            rows_in_band: 0,
            rows_seen: 0,
            out: Vec::with_capacity(out_width as usize * out_height as usize * channels),
        }
    }

    fn push(&mut self, row: &[u8]) {
        match self.color {
            ColorType::Rgba => self.add::<4>(row),
            ColorType::Rgb => self.add::<3>(row),
            ColorType::GrayscaleAlpha => self.add::<2>(row),
            _ => self.add::<1>(row),
        }
        self.rows_in_band += 1;
        self.rows_seen += 1;
        if self.rows_in_band == self.k || self.rows_seen == self.source_height {
            self.emit_band();
        }
    }

    /// Adds one row of `SAMPLES`-byte pixels into the band's block sums
    /// (monomorphised per layout: this loop runs once per source pixel).
    fn add<const SAMPLES: usize>(&mut self, row: &[u8]) {
        let k = self.k as usize;
        for (block, pixels) in self.sums.chunks_exact_mut(4).zip(row.chunks(k * SAMPLES)) {
            let mut sum = [0u32; 4];
            for pixel in pixels.chunks_exact(SAMPLES) {
                let (r, g, b, a) = match SAMPLES {
                    4 => (pixel[0], pixel[1], pixel[2], pixel[3]),
                    3 => (pixel[0], pixel[1], pixel[2], u8::MAX),
                    2 => (pixel[0], pixel[0], pixel[0], pixel[1]),
                    _ => (pixel[0], pixel[0], pixel[0], u8::MAX),
                };
                let a = u32::from(a);
                sum[0] += u32::from(r) * a;
                sum[1] += u32::from(g) * a;
                sum[2] += u32::from(b) * a;
                sum[3] += a;
            }
            for (total, part) in block.iter_mut().zip(sum) {
                *total += part;
            }
        }
    }

    fn emit_band(&mut self) {
        let k = self.k;
        let last_block_width = self.source_width - (self.out_width - 1) * k;
        for (x, block) in self.sums.chunks_exact_mut(4).enumerate() {
            let block_width = if x as u32 == self.out_width - 1 {
                last_block_width
            } else {
                k
            };
            let count = block_width * self.rows_in_band;
            let alpha_sum = block[3];
            let colour = |sum: u32| {
                (sum + alpha_sum / 2)
                    .checked_div(alpha_sum)
                    .map_or(0, |value| value as u8)
            };
            self.out
                .extend_from_slice(&[colour(block[0]), colour(block[1]), colour(block[2])]);
            if self.alpha {
                self.out.push(((alpha_sum + count / 2) / count) as u8);
            }
            block.fill(0);
        }
        self.rows_in_band = 0;
    }

    fn finish(self) -> Result<DynamicImage, Rejection> {
        if self.rows_seen != self.source_height {
            return Err(Rejection::undecodable("the PNG ended before its last row"));
        }
        let (w, h) = (self.out_width, self.source_height.div_ceil(self.k));
        let image = if self.alpha {
            RgbaImage::from_raw(w, h, self.out).map(DynamicImage::ImageRgba8)
        } else {
            RgbImage::from_raw(w, h, self.out).map(DynamicImage::ImageRgb8)
        };
        image.ok_or_else(|| Rejection::undecodable("the shrunk PNG has the wrong size"))
    }
}
