//! A progressive JPEG decoded at a reduced DCT scale does not need all of its
//! scans, and its scans are its decoding time: libjpeg-turbo entropy-decodes
//! every one over the whole image before the first pixel. The markers say
//! what each scan carries, so the ones the scale cannot use, or barely uses,
//! are cut from the stream before it reaches the decoder.
//!
//! - At 1/8 the IDCT reads only each block's DC coefficient, so every AC
//!   refinement goes, and every first AC scan past coefficient 9, with the
//!   picture the same to the bit. The first scans of coefficients 1–9 stay:
//!   without them libjpeg-turbo's block smoothing would also re-estimate each
//!   block's DC from its neighbours (`change_dc` in jdcoefct.c).
//! - At 1/4 and 1/2 it reads most AC coefficients, but their last bit (the
//!   final successive-approximation refinements, the largest scans of a
//!   camera file: 48% of the 16 MP bench photo) moves the downscaled picture
//!   little: the 1280×720 result stays 45 dB from the full decode's on that
//!   photo and 40.4 dB on a q100 4K one (`just bench` prints it every run);
//!   at the decoder's own output, before the resize averages, 41–42 dB at 1/4
//!   and 35–38 dB at 1/2 on synthetic worst cases (the tests' floor is the
//!   35 dB every shrink-on-load path keeps).
//!
//! Whatever else lies between scans (Huffman tables, restart intervals) stays.

use super::super::structure::jpeg::{self, Process, ScanSpan};

/// Scans are cut when they are at least this fraction (1/N) of the stream: a
/// q100 4K photo whose last luma refinement is 14% of its 8.5 MB gained 8% in
/// time and paid 8 MB, past half of sharp's memory; the 16 MP camera photo's
/// is 48% and saves a third of the time.
const WORTH_A_COPY: usize = 4;

/// The stream without the scans a decode at 1/`denom` can do without, or
/// `None` when it needs them all.
pub fn scans_for_scale(bytes: &[u8], denom: usize) -> Option<Vec<u8>> {
    let structure = jpeg::read(bytes).ok()?;
    if structure.process != Process::Progressive {
        return None;
    }
    let unneeded = |scan: &&ScanSpan| {
        let luma_ac = scan.first > 0 && scan.full_resolution;
        match denom {
            8 => luma_ac && (scan.high > 0 || scan.first > 9),
            2 | 4 => luma_ac && scan.high > 0 && scan.low == 0,
            _ => false,
        }
    };
    let dropped: usize = structure
        .scan_spans
        .iter()
        .filter(unneeded)
        .map(|scan| scan.bytes.len())
        .sum();
    // The shorter stream is a copy: worth its memory only when it saves much.
    if dropped < bytes.len() / WORTH_A_COPY {
        return None;
    }
    let mut kept = Vec::with_capacity(bytes.len() - dropped);
    let mut from = 0;
    for scan in structure.scan_spans.iter().filter(unneeded) {
        kept.extend_from_slice(&bytes[from..scan.bytes.start]);
        from = scan.bytes.end;
    }
    kept.extend_from_slice(&bytes[from..]);
    Some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use turbojpeg::{Compressor, Decompressor, Image, PixelFormat, ScalingFactor, Subsamp};

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

    fn decode(bytes: &[u8], denom: usize) -> Vec<u8> {
        let factor = ScalingFactor::new(1, denom);
        let mut decompressor = Decompressor::new().unwrap();
        decompressor.set_scaling_factor(factor).unwrap();
        let header = decompressor.read_header(bytes).unwrap().scaled(factor);
        let mut image = Image {
            pixels: vec![0u8; header.width * header.height * 3],
            width: header.width,
            pitch: header.width * 3,
            height: header.height,
            format: PixelFormat::RGB,
        };
        decompressor
            .decompress(bytes, image.as_deref_mut())
            .unwrap();
        image.pixels
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
    fn at_one_eighth_luma_keeps_no_refinement_and_the_picture_is_the_same() {
        for photo in [progressive_photo(), fixture()] {
            let trimmed = scans_for_scale(&photo, 8).unwrap();
            let kept = jpeg::read(&trimmed).unwrap();
            let luma_refinements = kept
                .scan_spans
                .iter()
                .filter(|scan| scan.full_resolution && scan.first > 0 && scan.high > 0);
            assert_eq!(luma_refinements.count(), 0);
            assert_eq!(kept.scans, 8, "two luma AC refinements dropped");
            let (ours, full) = (decode(&trimmed, 8), decode(&photo, 8));
            let differing = ours.iter().zip(&full).filter(|(a, b)| a != b).count();
            assert_eq!(differing, 0, "{:.1} dB", psnr(&ours, &full));
        }
    }

    #[test]
    fn at_one_half_and_one_quarter_only_the_last_luma_ac_bit_goes() {
        // The fixture's last luma refinement is 12% of it: not worth a copy.
        assert_eq!(scans_for_scale(&fixture(), 2), None);
        for photo in [progressive_photo()] {
            for (denom, floor) in [(4, 40.0), (2, 40.0)] {
                let trimmed = scans_for_scale(&photo, denom).unwrap();
                let kept = jpeg::read(&trimmed).unwrap();
                assert_eq!(kept.scans, 9, "the final luma AC refinement dropped");
                let quality = psnr(&decode(&trimmed, denom), &decode(&photo, denom));
                eprintln!(
                    "1/{denom}: {quality:.1} dB, {} of {} bytes",
                    trimmed.len(),
                    photo.len()
                );
                assert!(quality >= floor, "1/{denom}: {quality:.1} dB");
            }
        }
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
