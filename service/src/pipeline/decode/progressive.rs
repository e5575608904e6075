//! A progressive JPEG decoded at a reduced DCT scale does not need all of its
//! scans, and its scans are its decoding time: libjpeg-turbo entropy-decodes
//! every one over the whole image before the first pixel. The markers say
//! what each scan carries, so the ones the scale cannot use, or barely uses,
//! are skipped: the decoder reads the stream as the ranges between them
//! (`jpeg_scaled.c`), so cutting copies nothing. What a component can do
//! without depends on the size of its IDCT (`idct_sizes`):
//!
//! - 1×1 reads only the DC coefficient, so every AC scan of the component
//!   goes, with its picture the same to the bit (block smoothing, which would
//!   re-estimate DC from the AC left, is off in `jpeg_scaled.c`).
//! - 2×2 and 4×4 average 4×4 or 2×2 pixels of the full IDCT, so the last bit
//!   of every AC coefficient goes (the final successive-approximation
//!   refinement, the largest scans of a camera file: 54% of the 16 MP bench
//!   photo at 1/4). At the decoder's own output that is 45 dB from the full
//!   decode on that photo, 41–42 dB on the tests' worst cases.
//! - Where the component's AC steps are all 1 (quality 100), its last two
//!   bits go: each coefficient is then still as fine as a step of 4, finer
//!   than quality 90 quantises. 46 dB on the q100 4K bench photo at 1/2, 46–51
//!   dB on the tests' q100 worst cases; at coarser steps the tests' worst
//!   cases fall to 38 dB, so there only the last bit goes.
//! - 8×8, a subsampled chroma component scaled up by its IDCT at 1/2, keeps
//!   every scan: its last bit would put the tests' small fixture at 35 dB.
//!
//! Whatever else lies between scans (Huffman tables, restart intervals) stays.

use super::super::structure::jpeg::{self, Process, ScanSpan};
use std::ops::Range;

/// The byte ranges of the stream, in order, without the scans a decode at
/// 1/`denom` can do without, or `None` when it needs them all. The decoder
/// reads the ranges where they lie: cutting copies nothing.
pub fn scans_for_scale(bytes: &[u8], denom: usize) -> Option<Vec<Range<usize>>> {
    let structure = jpeg::read(bytes).ok()?;
    let smallest = match denom {
        2 => 4,
        4 => 2,
        8 => 1,
        _ => return None,
    };
    if structure.process != Process::Progressive {
        return None;
    }
    let sizes = idct_sizes(&structure.sampling, smallest);
    let unneeded = |scan: &&ScanSpan| {
        // A progressive AC scan names one component; DC scans always stay.
        let [component] = scan.components[..] else {
            return false;
        };
        let refinement_bits = match structure.largest_ac_steps[component] {
            Some(step) if step <= 1 => 2,
            _ => 1,
        };
        scan.first > 0
            && match sizes[component] {
                1 => true,
                2 | 4 => scan.high > 0 && scan.low < refinement_bits,
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

/// The side of the block libjpeg-turbo's IDCT gives each component when the
/// scale asks for `smallest` (`jpeg_calc_output_dimensions`): doubled while
/// a subsampled component can be scaled up by its IDCT instead of upsampled.
/// A side of 1 reads only DC; 2 and 4 average 4×4 or 2×2 pixels of the full
/// IDCT (`jidctred.c`).
fn idct_sizes(sampling: &[(u32, u32)], smallest: u32) -> Vec<u32> {
    let h_max = sampling.iter().map(|s| s.0).max().unwrap_or(1);
    let v_max = sampling.iter().map(|s| s.1).max().unwrap_or(1);
    sampling
        .iter()
        .map(|&(h, v)| {
            let mut size = smallest;
            while size < 8
                && (h_max * smallest).is_multiple_of(h * size * 2)
                && (v_max * smallest).is_multiple_of(v * size * 2)
            {
                size *= 2;
            }
            size
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use turbojpeg::{Compressor, Decompressor, Image, PixelFormat, Subsamp};

    /// A textured 1024×768 picture (waves and noise: AC in every band) as a
    /// progressive JPEG with libjpeg's standard ten scans.
    fn textured(quality: i32, subsampling: Subsamp) -> Vec<u8> {
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
        compressor.set_quality(quality).unwrap();
        compressor.set_subsamp(subsampling).unwrap();
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

    fn progressive_photo() -> Vec<u8> {
        textured(90, Subsamp::Sub2x2)
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

    /// Decodes with and without the cut at 1/`denom`: the scans kept, and
    /// the PSNR between the two pictures.
    fn cut(photo: &[u8], denom: usize) -> (u32, f64) {
        let kept = scans_for_scale(photo, denom).unwrap();
        let copy = joined(photo, &kept);
        let ours = decode(photo, Some(kept), denom);
        // Read where they lie, the ranges decode as their copy does.
        assert!(ours == decode(&copy, None, denom), "1/{denom}");
        let quality = psnr(&ours, &decode(photo, None, denom));
        eprintln!(
            "1/{denom}: {quality:.1} dB, {} of {} bytes",
            copy.len(),
            photo.len()
        );
        (jpeg::read(&copy).unwrap().scans, quality)
    }

    #[test]
    fn idct_sizes_follow_libjpeg_turbo_s_choice() {
        let (yuv420, yuv422, yuv444) = (
            [(2, 2), (1, 1), (1, 1)],
            [(2, 1), (1, 1), (1, 1)],
            [(1, 1); 3],
        );
        assert_eq!(idct_sizes(&yuv420, 1), [1, 2, 2]);
        assert_eq!(idct_sizes(&yuv420, 2), [2, 4, 4]);
        assert_eq!(idct_sizes(&yuv420, 4), [4, 8, 8]);
        assert_eq!(idct_sizes(&yuv422, 1), [1, 1, 1]);
        assert_eq!(idct_sizes(&yuv422, 4), [4, 4, 4]);
        assert_eq!(idct_sizes(&yuv444, 2), [2, 2, 2]);
    }

    #[test]
    fn a_component_read_as_dc_only_keeps_no_ac_scan_and_is_the_same_to_the_bit() {
        // Only without block smoothing: it would re-estimate DC from the AC left.
        // At 1/8, 4:4:4 and 4:2:2 read every component as DC only.
        for subsampling in [Subsamp::None, Subsamp::Sub2x1] {
            let photo = textured(90, subsampling);
            let kept = scans_for_scale(&photo, 8).unwrap();
            let trimmed = jpeg::read(&joined(&photo, &kept)).unwrap();
            assert!(trimmed.scan_spans.iter().all(|scan| scan.first == 0));
            let (ours, full) = (decode(&photo, Some(kept), 8), decode(&photo, None, 8));
            let differing = ours.iter().zip(&full).filter(|(a, b)| a != b).count();
            assert_eq!(differing, 0, "{:.1} dB", psnr(&ours, &full));
        }
    }

    #[test]
    fn at_half_size_or_less_a_component_loses_its_last_ac_bit() {
        for photo in [progressive_photo(), fixture()] {
            // 4:2:0. At 1/8 luma is DC only (four AC scans go) and chroma
            // at 2×2 loses its last bit; at 1/4 all three lose it; at 1/2
            // luma does, and chroma, scaled up by a full IDCT, keeps it.
            for (denom, scans) in [(8, 4), (4, 7), (2, 9)] {
                let (kept, quality) = cut(&photo, denom);
                assert_eq!(kept, scans, "1/{denom}");
                assert!(quality >= 40.0, "1/{denom}: {quality:.1} dB");
            }
        }
    }

    #[test]
    fn quality_100_components_lose_their_last_two_ac_bits() {
        for subsampling in [Subsamp::Sub2x1, Subsamp::Sub2x2] {
            let photo = textured(100, subsampling);
            assert_eq!(jpeg::read(&photo).unwrap().largest_ac_steps, [Some(1); 3]);
            // Luma's two refinements and chroma's one each; at 1/2 a 4:2:0
            // chroma is read at full size and keeps its bit.
            let expected = if subsampling == Subsamp::Sub2x1 {
                [6, 6]
            } else {
                [6, 8]
            };
            for (denom, scans) in [4, 2].into_iter().zip(expected) {
                let (kept, quality) = cut(&photo, denom);
                assert_eq!(kept, scans, "1/{denom}");
                assert!(quality >= 40.0, "1/{denom}: {quality:.1} dB");
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
