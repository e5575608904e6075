//! A progressive JPEG decoded at a reduced DCT scale does not need all of its
//! scans, and its scans are its decoding time: libjpeg-turbo entropy-decodes
//! every one over the whole image before the first pixel. The markers say
//! what each scan carries, so the ones the scale cannot use, or barely uses,
//! are skipped: the decoder reads the stream as the ranges between them
//! (`jpeg_scaled.c`), so cutting copies nothing.
//!
//! - At 1/8 the IDCT reads only each block's DC coefficient, so every luma
//!   AC scan goes, with the picture the same to the bit (block smoothing,
//!   which would re-estimate DC from the AC left, is off in `jpeg_scaled.c`).
//!   Subsampled chroma is read at 1/4 there and keeps its scans.
//! - At 1/4 the last bit of every AC coefficient goes (the final
//!   successive-approximation refinements of all three components, the
//!   largest scans of a camera file: 54% of the 16 MP bench photo). At the
//!   decoder's own output that is 45 dB from the full decode on that photo,
//!   41–42 dB on the tests' worst cases.
//! - At 1/2 only luma's last AC bit goes: chroma's too would put the tests'
//!   small fixture at 35 dB. The q100 4K bench photo stays at 54 dB.
//!
//! Whatever else lies between scans (Huffman tables, restart intervals) stays.

use super::super::structure::jpeg::{self, Process, ScanSpan};
use std::ops::Range;

/// The byte ranges of the stream, in order, without the scans a decode at
/// 1/`denom` can do without, or `None` when it needs them all. The decoder
/// reads the ranges where they lie: cutting copies nothing.
pub fn scans_for_scale(bytes: &[u8], denom: usize) -> Option<Vec<Range<usize>>> {
    let structure = jpeg::read(bytes).ok()?;
    if structure.process != Process::Progressive {
        return None;
    }
    let unneeded = |scan: &&ScanSpan| {
        let ac = scan.first > 0;
        let last_bit = scan.high > 0 && scan.low == 0;
        match denom {
            8 => ac && scan.full_resolution,
            4 => ac && last_bit,
            2 => ac && last_bit && scan.full_resolution,
            _ => false,
        }
    };
    let mut kept = Vec::new();
    let mut from = 0;
    for scan in structure.scan_spans.iter().filter(unneeded) {
        kept.push(from..scan.bytes.start);
        from = scan.bytes.end;
    }
    if kept.is_empty() {
        return None;
    }
    kept.push(from..bytes.len());
    Some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use turbojpeg::{Compressor, Decompressor, Image, PixelFormat, Subsamp};

    /// A textured 1024×768 picture (waves and noise: AC in every band) as a
    /// progressive 4:2:0 JPEG with libjpeg's standard ten scans.
    fn progressive_photo() -> Vec<u8> {
        let (width, height) = (1024usize, 768usize);
        let mut seed = 7u32;
        let pixels: Vec<u8> = (0..width * height)
            .flat_map(|i| {
                let (x, y) = ((i % width) as f32, (i / width) as f32);
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (seed >> 27) as f32;
                let wave = |f: f32, g: f32| 128.0 + 90.0 * (x * f).sin() * (y * g).cos() + noise;
                [wave(0.05, 0.03), wave(0.11, 0.07), wave(0.02, 0.13)].map(|v| v as u8)
            })
            .collect();
        let mut compressor = Compressor::new().unwrap();
        compressor.set_quality(90).unwrap();
        compressor.set_subsamp(Subsamp::Sub2x2).unwrap();
        compressor.set_progressive(true).unwrap();
        let image = Image {
            pixels: pixels.as_slice(),
            width,
            pitch: width * 3,
            height,
            format: PixelFormat::RGB,
        };
        compressor.compress_to_vec(image).unwrap()
    }

    fn size(bytes: &[u8]) -> (usize, usize) {
        let header = Decompressor::new().unwrap().read_header(bytes).unwrap();
        (header.width, header.height)
    }

    /// As the transform decodes: our decoder, block smoothing off.
    fn decode(bytes: &[u8], kept: Option<Vec<Range<usize>>>, denom: usize) -> Vec<u8> {
        super::super::jpeg::decode_rgb(bytes, kept, denom, size(bytes)).unwrap()
    }

    /// The kept ranges copied into one stream.
    fn joined(bytes: &[u8], kept: &[Range<usize>]) -> Vec<u8> {
        kept.iter()
            .flat_map(|range| &bytes[range.clone()])
            .copied()
            .collect()
    }

    fn psnr(a: &[u8], b: &[u8]) -> f64 {
        let squared: f64 = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum();
        10.0 * (255.0f64.powi(2) / (squared / a.len() as f64)).log10()
    }

    fn fixture() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/progressive.jpg"
        ))
        .unwrap()
    }

    #[test]
    fn at_one_eighth_luma_keeps_no_ac_scan_and_the_picture_is_the_same() {
        // Only without block smoothing: it would re-estimate DC from the AC left.
        for photo in [progressive_photo(), fixture()] {
            let kept = scans_for_scale(&photo, 8).unwrap();
            let trimmed = jpeg::read(&joined(&photo, &kept)).unwrap();
            let luma_ac = trimmed
                .scan_spans
                .iter()
                .filter(|scan| scan.full_resolution && scan.first > 0);
            assert_eq!(luma_ac.count(), 0);
            assert_eq!(trimmed.scans, 6, "four luma AC scans dropped");
            let (ours, full) = (decode(&photo, Some(kept), 8), decode(&photo, None, 8));
            let differing = ours.iter().zip(&full).filter(|(a, b)| a != b).count();
            assert_eq!(differing, 0, "{:.1} dB", psnr(&ours, &full));
        }
    }

    #[test]
    fn at_one_quarter_every_last_ac_bit_goes_and_at_one_half_luma_s() {
        for photo in [progressive_photo(), fixture()] {
            // Three final AC refinements at 1/4 (luma, Cb, Cr), luma's at 1/2.
            for (denom, scans) in [(4, 7), (2, 9)] {
                let kept = scans_for_scale(&photo, denom).unwrap();
                let copy = joined(&photo, &kept);
                assert_eq!(jpeg::read(&copy).unwrap().scans, scans, "1/{denom}");
                let ours = decode(&photo, Some(kept), denom);
                let quality = psnr(&ours, &decode(&photo, None, denom));
                eprintln!(
                    "1/{denom}: {quality:.1} dB, {} of {} bytes",
                    copy.len(),
                    photo.len()
                );
                assert!(quality >= 40.0, "1/{denom}: {quality:.1} dB");
                // Read where they lie, the ranges decode as their copy does.
                assert!(ours == decode(&copy, None, denom));
            }
        }
    }

    #[test]
    fn a_stream_cut_short_is_refused_across_ranges() {
        let photo = progressive_photo();
        let mut kept = scans_for_scale(&photo, 4).unwrap();
        // End the stream inside the second range: the decoder runs out there.
        kept.truncate(2);
        let last = kept.last_mut().unwrap();
        last.end = last.start + (last.end - last.start) / 2;
        let (width, height) = size(&photo);
        let refused = super::super::jpeg::decode_rgb(&photo, Some(kept), 4, (width, height));
        assert!(refused.is_err(), "a premature end is an error");
    }

    #[test]
    fn full_size_and_baseline_decodes_keep_every_scan() {
        let photo = progressive_photo();
        assert_eq!(scans_for_scale(&photo, 1), None);
        let baseline = turbojpeg::compress(
            Image {
                pixels: &[128u8; 64 * 64 * 3][..],
                width: 64,
                pitch: 64 * 3,
                height: 64,
                format: PixelFormat::RGB,
            },
            90,
            Subsamp::Sub2x2,
        )
        .unwrap();
        assert_eq!(scans_for_scale(&baseline, 8), None);
    }
}
