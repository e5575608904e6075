//! The first frame of a GIF straight from its palette indices to RGB, for
//! the common case of an opaque frame covering the canvas: no RGBA canvas
//! to composite, and three channels instead of four for every later stage.
//! Frames with transparent pixels or that cover part of the canvas take the
//! generic decoder.

use super::super::Rejection;
use gif::{ColorOutput, DecodeOptions};
use image::{DynamicImage, RgbImage};
use std::io::Cursor;

pub fn decode_first_frame(bytes: &[u8]) -> Option<Result<DynamicImage, Rejection>> {
    let mut options = DecodeOptions::new();
    options.set_color_output(ColorOutput::Indexed);
    let mut decoder = match options.read_info(Cursor::new(bytes)) {
        Ok(decoder) => decoder,
        Err(error) => return Some(Err(Rejection::undecodable(error))),
    };
    let (width, height) = (decoder.width(), decoder.height());
    let global = decoder.global_palette().map(<[u8]>::to_vec);
    let frame = match decoder.read_next_frame() {
        Ok(Some(frame)) => frame,
        Ok(None) => return Some(Err(Rejection::undecodable("the GIF has no frame"))),
        Err(error) => return Some(Err(Rejection::undecodable(error))),
    };
    let covers_canvas = (frame.left, frame.top, frame.width, frame.height) == (0, 0, width, height);
    // Encoders often declare a transparent index that no pixel uses.
    let transparent = frame
        .transparent
        .is_some_and(|index| frame.buffer.contains(&index));
    if !covers_canvas || transparent {
        return None;
    }
    let palette = frame.palette.as_deref().or(global.as_deref())?;
    let mut pixels = Vec::with_capacity(frame.buffer.len() * 3);
    for &index in frame.buffer.iter() {
        let at = usize::from(index) * 3;
        // An index past the palette's end shows black, as browsers do.
        pixels.extend_from_slice(palette.get(at..at + 3).unwrap_or(&[0, 0, 0]));
    }
    let image = RgbImage::from_raw(u32::from(width), u32::from(height), pixels)
        .map(DynamicImage::ImageRgb8)
        .ok_or_else(|| Rejection::undecodable("the GIF frame has the wrong size"));
    Some(image)
}
