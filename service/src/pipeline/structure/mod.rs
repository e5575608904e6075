//! Reads an image's structure cheaply, before any pixel is decoded, and
//! refuses what would cost too much to decode. Pixel counts are checked by
//! `inspect`; here: what multiplies the work per pixel (a JPEG's scans, an
//! animation's frames) and what a decoder would have to guess about.

pub mod jpeg;

use super::{Format, Limits, Rejection};
use std::io::Cursor;

/// Refuses `bytes` when its structure is broken or its decode would cost
/// more than `limits` allow.
pub fn check(bytes: &[u8], format: Format, limits: &Limits) -> Result<(), Rejection> {
    match format {
        Format::Jpeg => check_jpeg(&jpeg::read(bytes)?, limits),
        Format::Gif => check_gif_frames(bytes, limits.max_frames),
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

/// Counts frames without decompressing them: only the first frame is ever
/// decoded, but an animation with a huge frame count is still a bomb.
fn check_gif_frames(bytes: &[u8], max_frames: u32) -> Result<(), Rejection> {
    let mut options = gif::DecodeOptions::new();
    options.skip_frame_decoding(true);
    let mut decoder = options
        .read_info(Cursor::new(bytes))
        .map_err(Rejection::undecodable)?;
    let mut frames = 0u32;
    while decoder
        .read_next_frame()
        .map_err(Rejection::undecodable)?
        .is_some()
    {
        frames += 1;
        if frames > max_frames {
            return Err(Rejection::TooManyFrames { limit: max_frames });
        }
    }
    if frames == 0 {
        return Err(Rejection::undecodable("the GIF has no frames"));
    }
    Ok(())
}
