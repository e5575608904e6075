//! Still WebP through libwebp, scaled while decoding: no full-size buffer is
//! ever made. Cropped to the region the frame shows, libwebp stops reading
//! after its last row and converts none above it: for a square photo under
//! `cover`, the bottom fifth is never decoded. Animations take the generic
//! path; so do files with EXIF, where a quarter turn would swap the sides.
//! A lossy file's entropy decoding (tokens and macroblock modes) is ours,
//! `vp8_tokens`, plugged into libwebp's macroblock loop by `webp_frame.c`.

use super::super::{Inspection, Rejection, resize::Region};
use super::vp8_tokens::{TOKEN_HOOKS, TokenHooks};
use image::{DynamicImage, RgbImage, RgbaImage};
use libwebp_sys as webp;

/// Who decodes a lossy WebP's VP8 tokens: ours, or libwebp's own (to hold
/// ours to it in tests, the fuzzer and the stage bench).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tokens {
    Ours,
    Libwebp,
}

unsafe extern "C" {
    fn flipframe_webp_decode(
        data: *const u8,
        size: usize,
        config: *mut webp::WebPDecoderConfig,
        hooks: *const TokenHooks,
    ) -> webp::VP8StatusCode;
}

pub fn decode_scaled(
    bytes: &[u8],
    inspection: &Inspection,
    need: f64,
    shown: Region,
    tokens: Tokens,
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
    let need = need.min(1.0);
    let scaled = |side: u32| ((f64::from(side) * need).ceil() as u32).clamp(1, side);
    let across = Crop::on_grid(shown.left, inspection.width, scaled(inspection.width));
    let down = Crop::on_grid(shown.top, inspection.height, scaled(inspection.height));
    let (width, height) = (across.length, down.length);
    let (out_w, out_h) = (across.scaled, down.scaled);
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
    if (width, height) != (inspection.width, inspection.height) {
        config.options.use_cropping = 1;
        config.options.crop_left = across.start as i32;
        config.options.crop_top = down.start as i32;
        config.options.crop_width = width as i32;
        config.options.crop_height = height as i32;
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
    let hooks = match tokens {
        Tokens::Ours => &TOKEN_HOOKS as *const TokenHooks,
        Tokens::Libwebp => std::ptr::null(),
    };
    let status = unsafe { flipframe_webp_decode(bytes.as_ptr(), bytes.len(), &mut config, hooks) };
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

/// A centred crop along one side, and its length once scaled.
struct Crop {
    start: u32,
    length: u32,
    scaled: u32,
}

impl Crop {
    /// Starts at or before `start` on a pixel where libwebp's scaler, taking
    /// `side` to `scaled`, begins an output pixel of the uncropped decode:
    /// the crop then samples the same grid, so fine textures alias exactly
    /// as without it (off the grid, a striped photo's moiré moved and it was
    /// 30 dB from the uncropped output). libwebp also wants crops to start
    /// on an even pixel. When the grid is too coarse, nothing is cropped.
    fn on_grid(start: u32, side: u32, scaled: u32) -> Crop {
        let step = side / gcd(side, scaled);
        let step = if step.is_multiple_of(2) {
            step
        } else {
            step * 2
        };
        let start = (start.min(side / 2) / step) * step;
        let length = side - 2 * start;
        Crop {
            start,
            length,
            // `length` is a whole number of steps, so this is exact.
            scaled: (u64::from(length) * u64::from(scaled) / u64::from(side)) as u32,
        }
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
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

#[cfg(test)]
mod tests {
    use super::Crop;

    #[test]
    fn crops_start_on_the_scalers_grid() {
        // 4096 to 1280 is 16 source pixels to 5 output pixels.
        let crop = Crop::on_grid(886, 4096, 1280);
        assert_eq!((crop.start, crop.length, crop.scaled), (880, 2336, 730));
        // 3000 to 960: 25 to 8, and 25 is odd, so steps of 50.
        let crop = Crop::on_grid(370, 3000, 960);
        assert_eq!((crop.start, crop.length, crop.scaled), (350, 2300, 736));
        // 4095 to 1280 shares no factor: no crop.
        let crop = Crop::on_grid(886, 4095, 1280);
        assert_eq!((crop.start, crop.length, crop.scaled), (0, 4095, 1280));
    }
}
