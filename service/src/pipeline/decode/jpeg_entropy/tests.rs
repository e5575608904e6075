//! Our entropy decoder against libjpeg-turbo's on the same decode: the same
//! pixels on every layout, scale and crop, and the same verdict on damage.

use super::super::jpeg::{Entropy, decode_region};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::ffi::c_int;
use turbojpeg::raw;

/// How a test JPEG is encoded.
#[derive(Clone, Copy, Debug)]
struct Encoding {
    subsampling: raw::TJSAMP,
    quality: c_int,
    /// Huffman tables made for the picture (other code lengths than the
    /// standard tables').
    optimize: bool,
    /// MCUs between restart markers; 0 for none.
    restart_blocks: c_int,
}

/// A picture with some of everything: flat areas (end of block at once),
/// gradients, edges and noise (long runs, large values, long codes).
pub(crate) fn picture(width: usize, height: usize, seed: u64) -> Vec<u8> {
    let mut random = StdRng::seed_from_u64(seed);
    let mut pixels = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            let band = x * 4 / width;
            let rgb: [u8; 3] = match band {
                0 => [90, 140, 200],
                1 => [(x * 255 / width) as u8, (y * 255 / height) as u8, 128],
                2 => {
                    let on = (x / 3 + y / 5) % 2 == 0;
                    if on { [250, 250, 10] } else { [5, 20, 60] }
                }
                _ => random.r#gen(),
            };
            pixels.extend_from_slice(&rgb);
        }
    }
    pixels
}

fn encode(pixels: &[u8], width: usize, height: usize, how: Encoding) -> Vec<u8> {
    // SAFETY: a fresh handle, used and destroyed here; `pixels` holds
    // `height` rows of `width` RGB pixels; the output buffer is libjpeg's,
    // copied and freed.
    unsafe {
        let handle = raw::tj3Init(raw::TJINIT_TJINIT_COMPRESS as c_int);
        assert!(!handle.is_null());
        for (parameter, value) in [
            (raw::TJPARAM_TJPARAM_SUBSAMP, how.subsampling as c_int),
            (raw::TJPARAM_TJPARAM_QUALITY, how.quality),
            (raw::TJPARAM_TJPARAM_OPTIMIZE, c_int::from(how.optimize)),
            (raw::TJPARAM_TJPARAM_RESTARTBLOCKS, how.restart_blocks),
        ] {
            assert_eq!(raw::tj3Set(handle, parameter as c_int, value), 0);
        }
        let (mut output, mut size) = (std::ptr::null_mut(), 0);
        let status = raw::tj3Compress8(
            handle,
            pixels.as_ptr(),
            width as c_int,
            (width * 3) as c_int,
            height as c_int,
            raw::TJPF_TJPF_RGB as c_int,
            &mut output,
            &mut size,
        );
        assert_eq!(status, 0, "{how:?}");
        let jpeg = std::slice::from_raw_parts(output, size as usize).to_vec();
        raw::tj3Free(output.cast());
        raw::tj3Destroy(handle);
        jpeg
    }
}

fn channels(how: Encoding) -> usize {
    if how.subsampling == raw::TJSAMP_TJSAMP_GRAY {
        1
    } else {
        3
    }
}

/// Both decoders on the same region: their verdicts and pixels.
fn both(
    jpeg: &[u8],
    denom: usize,
    region: (usize, usize, usize, usize),
    channels: usize,
) -> [Result<Vec<u8>, String>; 2] {
    [Entropy::Ours, Entropy::Libjpeg]
        .map(|entropy| decode_region(jpeg, None, denom, region, channels, entropy))
}

const SUBSAMPLINGS: [raw::TJSAMP; 6] = [
    raw::TJSAMP_TJSAMP_444,
    raw::TJSAMP_TJSAMP_422,
    raw::TJSAMP_TJSAMP_420,
    raw::TJSAMP_TJSAMP_440,
    raw::TJSAMP_TJSAMP_411,
    raw::TJSAMP_TJSAMP_GRAY,
];

#[test]
fn the_pixels_are_libjpegs_on_every_layout_quality_table_restart_and_scale() {
    let (width, height) = (203, 157);
    let pixels = picture(width, height, 7);
    let mut decoded = 0;
    for subsampling in SUBSAMPLINGS {
        for quality in [30, 90, 100] {
            for optimize in [false, true] {
                for restart_blocks in [0, 1, 5] {
                    let how = Encoding {
                        subsampling,
                        quality,
                        optimize,
                        restart_blocks,
                    };
                    let jpeg = encode(&pixels, width, height, how);
                    for denom in [1, 2, 4, 8] {
                        let whole = (0, 0, width.div_ceil(denom), height.div_ceil(denom));
                        let [ours, theirs] = both(&jpeg, denom, whole, channels(how));
                        let ours =
                            ours.unwrap_or_else(|error| panic!("{how:?} 1/{denom}: {error}"));
                        assert!(
                            ours == theirs.unwrap(),
                            "{how:?} 1/{denom}: the pixels differ"
                        );
                        decoded += 1;
                    }
                }
            }
        }
    }
    assert_eq!(decoded, 6 * 3 * 2 * 3 * 4);
}

#[test]
fn crops_skip_rows_and_columns_as_libjpeg_does() {
    // Rows above the crop are decoded and discarded (libjpeg passes no
    // blocks), columns beside it decoded and not transformed.
    let (width, height) = (640, 480);
    let pixels = picture(width, height, 11);
    for (subsampling, restart_blocks) in [(raw::TJSAMP_TJSAMP_420, 0), (raw::TJSAMP_TJSAMP_422, 3)]
    {
        let how = Encoding {
            subsampling,
            quality: 85,
            optimize: false,
            restart_blocks,
        };
        let jpeg = encode(&pixels, width, height, how);
        for (denom, region) in [
            (2, (80, 37, 160, 150)),
            (4, (16, 10, 128, 90)),
            (1, (0, 200, 640, 17)),
        ] {
            let [ours, theirs] = both(&jpeg, denom, region, 3);
            assert!(
                ours.unwrap() == theirs.unwrap(),
                "{how:?} 1/{denom} {region:?}"
            );
        }
    }
}

/// Damage to the entropy-coded data: every truncation, and bytes set to
/// values that matter to the reader (0xFF, stuffing, restart markers, EOI,
/// random) at every offset. Both decoders reach the same verdict, but for
/// where libjpeg-turbo's own depends on its path, and when both decode, the
/// same pixels.
#[test]
fn damage_gets_libjpegs_verdict() {
    let (width, height) = (48, 32);
    let pixels = picture(width, height, 3);
    let mut random = StdRng::seed_from_u64(5);
    let (mut refused, mut decoded, mut lenient) = (0, 0, 0);
    for restart_blocks in [0, 2] {
        let how = Encoding {
            subsampling: raw::TJSAMP_TJSAMP_420,
            quality: 90,
            optimize: false,
            restart_blocks,
        };
        let jpeg = encode(&pixels, width, height, how);
        let data_start = jpeg
            .windows(2)
            .rposition(|pair| pair == [0xFF, 0xDA])
            .unwrap()
            + 14;
        let mut damaged: Vec<Vec<u8>> = (data_start..jpeg.len())
            .map(|end| jpeg[..end].to_vec())
            .collect();
        for at in data_start..jpeg.len() - 2 {
            for value in [0x00, 0xFF, 0xD0, 0xD1, 0xD9, random.r#gen()] {
                let mut copy = jpeg.clone();
                copy[at] = value;
                damaged.push(copy);
            }
        }
        for (case, jpeg) in damaged.iter().enumerate() {
            for denom in [1, 4] {
                let whole = (0, 0, width.div_ceil(denom), height.div_ceil(denom));
                match both(jpeg, denom, whole, 3) {
                    [Ok(ours), Ok(theirs)] => {
                        assert!(ours == theirs, "case {case} 1/{denom}: the pixels differ");
                        decoded += 1;
                    }
                    [Err(_), Err(_)] => refused += 1,
                    // Where libjpeg-turbo's verdict hangs on its path: it
                    // lets stray bytes before a marker pass when its bit
                    // buffer holds them (we pass up to 7 always), and its
                    // fast path takes a bad code as a zero while its slow
                    // path (near the end, between restarts) refuses it.
                    [Ok(_), Err(theirs)]
                        if stray_bytes(&theirs).is_some_and(|n| n <= 7)
                            || theirs.ends_with("bad Huffman code") =>
                    {
                        lenient += 1
                    }
                    [ours, theirs] => panic!(
                        "case {case} 1/{denom}, restarts {restart_blocks}: ours {:?}, libjpeg {:?}",
                        ours.err(),
                        theirs.err()
                    ),
                }
            }
        }
    }
    assert!(
        refused > 1000 && decoded > 100 && lenient < decoded / 10,
        "{refused} refused, {decoded} decoded, {lenient} passed by us only"
    );
}

/// N in libjpeg's "N extraneous bytes before marker".
fn stray_bytes(message: &str) -> Option<usize> {
    let (count, _) = message.split_once(" extraneous bytes before marker")?;
    count.rsplit(' ').next()?.parse().ok()
}
