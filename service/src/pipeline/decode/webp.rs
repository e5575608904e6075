//! Still WebP through libwebp, scaled while decoding: the VP8 work is the same
//! but no full-size buffer is ever made. Animations take the generic path;
//! so do files with EXIF, where a quarter turn would swap the scaled sides.

use super::super::{Inspection, Rejection};
use image::{DynamicImage, RgbImage, RgbaImage};
use libwebp_sys as webp;

pub fn decode_scaled(
    bytes: &[u8],
    inspection: &Inspection,
    need: f64,
) -> Option<Result<DynamicImage, Rejection>> {
    if has_exif_chunk(bytes) {
        return None;
    }
    // SAFETY: plain C structs, initialised by libwebp before use.
    let mut config: webp::WebPDecoderConfig = unsafe { std::mem::zeroed() };
    if !unsafe { webp::WebPInitDecoderConfig(&mut config) } {
        return None;
    }
    let status = unsafe { webp::WebPGetFeatures(bytes.as_ptr(), bytes.len(), &mut config.input) };
    if status != webp::VP8StatusCode::VP8_STATUS_OK || config.input.has_animation != 0 {
        return None;
    }
    let (width, height) = (inspection.width, inspection.height);
    let need = need.min(1.0);
    let scaled = |side: u32| ((f64::from(side) * need).ceil() as u32).clamp(1, side);
    let (out_w, out_h) = (scaled(width), scaled(height));
    let alpha = config.input.has_alpha != 0;
    let channels = if alpha { 4 } else { 3 };
    let mut pixels = vec![0u8; out_w as usize * out_h as usize * channels];

    config.options.use_threads = 0;
    // Shrinking by half or more averages away what the deblocking filter and
    // smooth chroma upsampling would refine: skip both (about a third of the
    // decode time).
    if need <= 0.5 {
        config.options.bypass_filtering = 1;
        config.options.no_fancy_upsampling = 1;
    }
    if (out_w, out_h) != (width, height) {
        config.options.use_scaling = 1;
        config.options.scaled_width = out_w as i32;
        config.options.scaled_height = out_h as i32;
    }
    config.output.colorspace = if alpha {
        webp::WEBP_CSP_MODE::MODE_RGBA
    } else {
        webp::WEBP_CSP_MODE::MODE_RGB
    };
    config.output.is_external_memory = 1;
    config.output.u.RGBA = webp::WebPRGBABuffer {
        rgba: pixels.as_mut_ptr(),
        stride: (out_w as usize * channels) as i32,
        size: pixels.len(),
    };
    // SAFETY: the output buffer is ours, sized and described above, and
    // outlives the call; libwebp writes only within it.
    let status = unsafe { webp::WebPDecode(bytes.as_ptr(), bytes.len(), &mut config) };
    unsafe { webp::WebPFreeDecBuffer(&mut config.output) };
    if status != webp::VP8StatusCode::VP8_STATUS_OK {
        return Some(Err(Rejection::undecodable(format!(
            "WebP decoding failed ({status:?})"
        ))));
    }
    let image = if alpha {
        RgbaImage::from_raw(out_w, out_h, pixels).map(DynamicImage::ImageRgba8)
    } else {
        RgbImage::from_raw(out_w, out_h, pixels).map(DynamicImage::ImageRgb8)
    };
    Some(image.ok_or_else(|| Rejection::undecodable("decoded buffer has the wrong size")))
}

/// Whether the RIFF container has an `EXIF` chunk.
fn has_exif_chunk(bytes: &[u8]) -> bool {
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let size = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]])
            as usize;
        if &bytes[at..at + 4] == b"EXIF" {
            return true;
        }
        at = at.saturating_add(8).saturating_add(size + (size & 1));
    }
    false
}
