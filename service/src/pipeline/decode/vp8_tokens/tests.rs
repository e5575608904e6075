//! Our token decoder against libwebp's own on the same decode: the same
//! pixels on every encoding, scale and crop, and the same verdict on damage.

use super::super::jpeg_entropy::tests::picture;
use crate::pipeline::{
    Fit, Format, Limits, TransformSpec, WebpTokens, decode_webp_for_frame, inspect,
};
use image::DynamicImage;
use libwebp_sys as webp;

/// How a test WebP is encoded.
#[derive(Clone, Copy, Debug)]
struct Encoding {
    quality: f32,
    /// Token partitions: 1, 2, 4 or 8 (`1 << partitions`).
    partitions: i32,
    segments: i32,
    /// 0 (fastest) to 6: how hard the encoder searches modes.
    method: i32,
}

fn encode(rgb: &[u8], width: usize, height: usize, encoding: Encoding) -> Vec<u8> {
    let mut config = webp::WebPConfig::new().expect("a config");
    config.quality = encoding.quality;
    config.partitions = encoding.partitions;
    config.segments = encoding.segments;
    config.method = encoding.method;
    let mut picture = webp::WebPPicture::new().expect("a picture");
    picture.width = width as i32;
    picture.height = height as i32;
    let mut writer: webp::WebPMemoryWriter = unsafe { std::mem::zeroed() };
    // SAFETY: the picture and the writer live until the end; the pixels
    // are width × height × 3 bytes.
    unsafe {
        assert!(webp::WebPValidateConfig(&config) != 0, "{encoding:?}");
        assert!(webp::WebPPictureImportRGB(&mut picture, rgb.as_ptr(), (width * 3) as i32) != 0);
        webp::WebPMemoryWriterInit(&mut writer);
        picture.writer = Some(webp::WebPMemoryWrite);
        picture.custom_ptr = (&raw mut writer).cast();
        let encoded = webp::WebPEncode(&config, &mut picture) != 0;
        webp::WebPPictureFree(&mut picture);
        let bytes = std::slice::from_raw_parts(writer.mem, writer.size).to_vec();
        webp::WebPMemoryWriterClear(&mut writer);
        assert!(encoded, "{encoding:?}");
        bytes
    }
}

/// `None` where the fast path declines, else the decode's verdict.
type Verdict = Option<Result<DynamicImage, String>>;

/// Both token decoders on `bytes` for `spec`'s frame (ours twice: with
/// lzcnt and BMI2 where the CPU has them, and without).
fn both(bytes: &[u8], spec: &TransformSpec) -> (Verdict, Verdict) {
    let Ok(inspection) = inspect(bytes, Format::Webp, &Limits::default()) else {
        return (None, None);
    };
    let decode = |tokens| {
        decode_webp_for_frame(bytes, &inspection, spec, tokens)
            .map(|result| result.map_err(|rejection| format!("{rejection:?}")))
    };
    let ours = decode(WebpTokens::Ours);
    super::hooks::GENERIC_ONLY.set(true);
    let generic = decode(WebpTokens::Ours);
    super::hooks::GENERIC_ONLY.set(false);
    assert!(
        ours == generic,
        "the generic decoder differs from the BMI one"
    );
    (ours, decode(WebpTokens::Libwebp))
}

fn frame(width: u32, height: u32, fit: Fit) -> TransformSpec {
    TransformSpec {
        width,
        height,
        fit,
        ..TransformSpec::default()
    }
}

/// Frames that take every branch of the fast path: a shrink past half
/// (deblocking and fancy upsampling off) and a crop; a mild shrink with
/// both on; the full size (no scaling at all).
fn frames(width: u32, height: u32) -> [TransformSpec; 3] {
    [
        frame(24, 10, Fit::Cover),
        frame(width * 3 / 4, height * 3 / 4, Fit::Contain),
        frame(width, height, Fit::Cover),
    ]
}

#[test]
fn same_pixels_on_every_encoding() {
    let (width, height) = (83, 61);
    let rgb = picture(width, height, 7);
    let mut checked = 0;
    for quality in [0.0, 25.0, 60.0, 85.0, 97.0, 100.0] {
        for partitions in 0..=3 {
            for (segments, method) in [(1, 0), (4, 4), (4, 6)] {
                let encoding = Encoding {
                    quality,
                    partitions,
                    segments,
                    method,
                };
                let bytes = encode(&rgb, width, height, encoding);
                for spec in frames(width as u32, height as u32) {
                    match both(&bytes, &spec) {
                        (Some(Ok(ours)), Some(Ok(theirs))) => {
                            assert!(
                                ours == theirs,
                                "{encoding:?} {}×{}",
                                spec.width,
                                spec.height
                            );
                            checked += 1;
                        }
                        other => panic!("{encoding:?}: {other:?}"),
                    }
                }
            }
        }
    }
    assert_eq!(checked, 6 * 4 * 3 * 3);
}

/// Every truncation and three damaging values at every offset: the same
/// refusals (a token partition that runs out is refused by both, on the
/// same macroblock) and the same pixels where both decode.
#[test]
fn same_verdict_on_truncation_and_damage() {
    let (width, height) = (48, 40);
    let rgb = picture(width, height, 11);
    let spec = frame(24, 10, Fit::Cover);
    for encoding in [
        Encoding {
            quality: 90.0,
            partitions: 1,
            segments: 4,
            method: 4,
        },
        Encoding {
            quality: 30.0,
            partitions: 0,
            segments: 1,
            method: 2,
        },
    ] {
        let bytes = encode(&rgb, width, height, encoding);
        let mut variants: Vec<(String, Vec<u8>)> = (0..bytes.len())
            .map(|length| (format!("cut at {length}"), bytes[..length].to_vec()))
            .collect();
        for offset in 0..bytes.len() {
            for damage in [0x00, 0xff, bytes[offset] ^ 0x55] {
                let mut damaged = bytes.clone();
                damaged[offset] = damage;
                variants.push((format!("{damage:#04x} at {offset}"), damaged));
            }
        }
        let (mut decoded, mut refused) = (0, 0);
        for (what, variant) in &variants {
            match both(variant, &spec) {
                (Some(Ok(ours)), Some(Ok(theirs))) => {
                    assert!(ours == theirs, "{encoding:?}, {what}: the pixels differ");
                    decoded += 1;
                }
                (Some(Err(_)), Some(Err(_))) => refused += 1,
                (None, None) => {}
                (ours, theirs) => panic!(
                    "{encoding:?}, {what}: ours {:?}, libwebp's {:?}",
                    ours.map(|verdict| verdict.map(|_| "pixels")),
                    theirs.map(|verdict| verdict.map(|_| "pixels"))
                ),
            }
        }
        // Both kinds happened: the test saw decodes and refusals.
        assert!(
            decoded > bytes.len() && refused > bytes.len() / 2,
            "{decoded} {refused}"
        );
    }
}
