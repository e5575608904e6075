//! Reads an image's structure cheaply, before any pixel is decoded, and
//! refuses what would cost too much to decode. Pixel counts are checked by
//! `inspect`; here: what multiplies the work per pixel (a JPEG's scans, an
//! animation's frames) and what a decoder would have to guess about.

pub mod gif;
pub mod jpeg;

use super::{Format, Limits, Rejection};

/// Refuses `bytes` when its structure is broken or its decode would cost
/// more than `limits` allow.
pub fn check(bytes: &[u8], format: Format, limits: &Limits) -> Result<(), Rejection> {
    match format {
        Format::Jpeg => check_jpeg(&jpeg::read(bytes)?, limits),
        // Only the first frame is ever decoded, but an animation with a
        // huge frame count is still a bomb.
        Format::Gif => gif::read(bytes, limits.max_frames).map(drop),
        _ => Ok(()),
    }
}

/// Refuses a JPEG whose scans ask for more decoding work than `limits` allow.
pub fn check_jpeg(structure: &jpeg::JpegStructure, limits: &Limits) -> Result<(), Rejection> {
    if structure.work > limits.max_decode_work {
        return Err(Rejection::TooComplex {
            reason: format!(
                "its {} scans ask for {} units of decoding work; the limit is {}",
                structure.scans, structure.work, limits.max_decode_work
            ),
        });
    }
    Ok(())
}
