//! Decodes the first frame under `image::Limits` and applies the EXIF
//! orientation, so phone photos stand the right way up before anything else.
//!
//! `decode_for_frame` is the fast path: JPEG and WebP decoders (C libraries,
//! behind the default `native-codecs` feature) that shrink
//! while decoding (libjpeg-turbo's DCT scaling, libwebp's scaler) to the
//! smallest size that still covers the output frame, cropped to what
//! `cover` shows; PNG streams its rows through a box shrink; an opaque
//! GIF goes from palette to RGB directly. `decode` is the generic full-size
//! path every format has, and what the fast path falls back to.

mod gif;
#[cfg(feature = "native-codecs")]
mod jpeg;
#[cfg(feature = "native-codecs")]
mod jpeg_entropy;
#[cfg(feature = "native-codecs")]
mod jpeg_rows;
mod lzw;
mod png;
#[cfg(feature = "native-codecs")]
pub use jpeg::Entropy as JpegEntropy;
#[cfg(feature = "native-codecs")]
pub mod progressive;
#[cfg(feature = "native-codecs")]
mod vp8_tokens;
#[cfg(feature = "native-codecs")]
mod webp;
#[cfg(feature = "native-codecs")]
pub use webp::Tokens as WebpTokens;

use super::resize::needed_scale;
#[cfg(feature = "native-codecs")]
use super::resize::{Region, shown_region};
use super::{Format, Inspection, Limits, Rejection, TransformSpec};
#[cfg(feature = "native-codecs")]
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader};
use std::io::Cursor;

/// Decodes at least as large as `spec`'s frame needs, smaller than the
/// original where the format can shrink on load.
pub fn decode_for_frame(
    bytes: &[u8],
    inspection: &Inspection,
    limits: &Limits,
    spec: &TransformSpec,
) -> Result<DynamicImage, Rejection> {
    let (width, height) = inspection.displayed_size();
    let need = needed_scale(width, height, spec);
    let fast = match inspection.format {
        #[cfg(feature = "native-codecs")]
        Format::Jpeg => {
            let shown = shown_in_stored_pixels(inspection, spec, need);
            jpeg::decode_scaled(bytes, need, shown, JpegEntropy::Ours)
        }
        #[cfg(feature = "native-codecs")]
        Format::Webp => webp::decode_scaled(
            bytes,
            inspection,
            need,
            shown_in_stored_pixels(inspection, spec, need),
            WebpTokens::Ours,
        ),
        Format::Png => png::decode_shrunk(bytes, need),
        Format::Gif => gif::decode_first_frame(bytes),
        _ => None,
    };
    let fast = fast.map(|decoded| {
        decoded.map(|mut image| {
            image.apply_orientation(inspection.orientation);
            image
        })
    });
    fast.unwrap_or_else(|| decode(bytes, inspection, limits))
}

/// Decodes and resizes to `spec`'s frame in one pass, the rows resized as
/// they are decoded (`RowResizer`), where the format and the photo allow:
/// an upright RGB JPEG. `None` elsewhere: `decode_for_frame` then `resize`.
pub fn decode_to_frame(
    bytes: &[u8],
    inspection: &Inspection,
    spec: &TransformSpec,
) -> Option<Result<DynamicImage, Rejection>> {
    match inspection.format {
        #[cfg(feature = "native-codecs")]
        Format::Jpeg if inspection.orientation == Orientation::NoTransforms => {
            let (need, shown) = scale_and_region(inspection, spec);
            jpeg::decode_framed(bytes, need, shown, JpegEntropy::Ours, spec)
        }
        _ => {
            let _ = (bytes, spec);
            None
        }
    }
}

/// JPEG's fast path with a chosen Huffman decoder: the fuzzer holds ours
/// to libjpeg-turbo's pixels, and `benches/stages.rs` times the two. `None`
/// where the fast path does not take the JPEG.
#[cfg(feature = "native-codecs")]
pub fn decode_jpeg_for_frame(
    bytes: &[u8],
    inspection: &Inspection,
    spec: &TransformSpec,
    entropy: JpegEntropy,
) -> Option<Result<DynamicImage, Rejection>> {
    let (need, shown) = scale_and_region(inspection, spec);
    jpeg::decode_scaled(bytes, need, shown, entropy)
}

/// WebP's fast path with a chosen VP8 token decoder, as
/// `decode_jpeg_for_frame` for JPEG.
#[cfg(feature = "native-codecs")]
pub fn decode_webp_for_frame(
    bytes: &[u8],
    inspection: &Inspection,
    spec: &TransformSpec,
    tokens: WebpTokens,
) -> Option<Result<DynamicImage, Rejection>> {
    let (need, shown) = scale_and_region(inspection, spec);
    webp::decode_scaled(bytes, inspection, need, shown, tokens)
}

/// How far a native decoder may shrink for `spec`'s frame, and the region
/// it shows (`shown_in_stored_pixels`).
#[cfg(feature = "native-codecs")]
fn scale_and_region(inspection: &Inspection, spec: &TransformSpec) -> (f64, Region) {
    let (width, height) = inspection.displayed_size();
    let need = needed_scale(width, height, spec);
    (need, shown_in_stored_pixels(inspection, spec, need))
}

/// The region `spec`'s frame shows, in stored pixels (before the EXIF turn),
/// widened by as much as Lanczos3 reads past its edge at this scale.
#[cfg(feature = "native-codecs")]
fn shown_in_stored_pixels(inspection: &Inspection, spec: &TransformSpec, need: f64) -> Region {
    let (width, height) = inspection.displayed_size();
    let margin = (4.0 / need).ceil() as u32;
    let shown = shown_region(width, height, spec, margin);
    // It is centred, so flips leave it as it is; a quarter turn swaps its axes.
    if inspection.quarter_turned() {
        Region {
            left: shown.top,
            top: shown.left,
            width: shown.height,
            height: shown.width,
        }
    } else {
        shown
    }
}

pub fn decode(
    bytes: &[u8],
    inspection: &Inspection,
    limits: &Limits,
) -> Result<DynamicImage, Rejection> {
    let mut decoder =
        ImageReader::with_format(Cursor::new(bytes), inspection.format.image_format())
            .into_decoder()
            .map_err(Rejection::undecodable)?;
    decoder
        .set_limits(decoder_limits(limits))
        .map_err(Rejection::undecodable)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(Rejection::undecodable)?;
    image.apply_orientation(inspection.orientation);
    Ok(image)
}

fn decoder_limits(limits: &Limits) -> image::Limits {
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_side);
    decoder_limits.max_image_height = Some(limits.max_side);
    // 16-bit RGBA is the widest pixel we decode to; allow it plus working room.
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    decoder_limits
}
