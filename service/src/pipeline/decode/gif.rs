//! The first frame of a GIF straight from its palette indices to RGB, for
//! the common case of an opaque frame covering the canvas: no RGBA canvas
//! to composite, and three channels instead of four for every later stage.
//! The LZW data becomes the frame's whole index plane first (`lzw`), then
//! rows of colours. Frames with transparent pixels or that cover part of the
//! canvas take the generic decoder.

use super::super::Rejection;
use super::super::structure::gif::read_first_frame;
use super::lzw;
use image::{DynamicImage, RgbImage};

pub fn decode_first_frame(bytes: &[u8]) -> Option<Result<DynamicImage, Rejection>> {
    match decode_opaque(bytes) {
        Ok(image) => image.map(Ok),
        Err(error) => Some(Err(Rejection::undecodable(error))),
    }
}

/// `Ok(None)` when the frame is not opaque or does not cover the canvas.
fn decode_opaque(bytes: &[u8]) -> Result<Option<DynamicImage>, String> {
    let (width, height, frame) = read_first_frame(bytes)?;
    if (frame.left, frame.top, frame.width, frame.height) != (0, 0, width, height) {
        return Ok(None);
    }
    let (width, height) = (usize::from(width), usize::from(height));
    if width == 0 || height == 0 {
        return Err("the GIF has no pixels".into());
    }
    let plane = lzw::decode(frame.data(bytes), frame.min_code_size, width * height)?;
    let indices = plane.indices();
    // Encoders often declare a transparent index that no pixel uses.
    if frame
        .transparent
        .is_some_and(|index| indices.contains(&index))
    {
        return Ok(None);
    }
    let colours = colour_table(&bytes[frame.palette.clone()]);
    let mut pixels = vec![0u8; width * height * 3];
    let rows = stored_row_order(height, frame.interlaced);
    for (indices, y) in indices.chunks_exact(width).zip(rows) {
        let row = &mut pixels[y * width * 3..][..width * 3];
        for (pixel, &index) in row.chunks_exact_mut(3).zip(indices) {
            pixel.copy_from_slice(&colours[usize::from(index)]);
        }
    }
    Ok(RgbImage::from_raw(width as u32, height as u32, pixels).map(DynamicImage::ImageRgb8))
}

/// All 256 entries: an index past the palette's end shows black, as browsers do.
fn colour_table(palette: &[u8]) -> [[u8; 3]; 256] {
    let mut colours = [[0u8; 3]; 256];
    for (colour, entry) in colours.iter_mut().zip(palette.chunks_exact(3)) {
        colour.copy_from_slice(entry);
    }
    colours
}

/// Where each stored row goes: top to bottom, or the four interlace passes.
fn stored_row_order(height: usize, interlaced: bool) -> Box<dyn Iterator<Item = usize>> {
    if interlaced {
        Box::new(
            (0..height)
                .step_by(8)
                .chain((4..height).step_by(8))
                .chain((2..height).step_by(4))
                .chain((1..height).step_by(2)),
        )
    } else {
        Box::new(0..height)
    }
}

#[cfg(test)]
mod tests {
    use super::decode_first_frame;
    use gif::{Encoder, Frame, Repeat};

    /// A 4-bit-per-channel gradient with a checker: many palette entries, and
    /// rows that differ, so a misplaced row shows.
    fn frame_indices(width: u16, height: u16) -> Vec<u8> {
        (0..height)
            .flat_map(|y| {
                (0..width).map(move |x| ((x / 3 + y * 7) % 251) as u8 ^ ((x + y) % 2) as u8)
            })
            .collect()
    }

    fn gif(width: u16, height: u16, interlaced: bool, transparent: Option<u8>) -> Vec<u8> {
        let palette: Vec<u8> = (0..=255u8).flat_map(|i| [i, 255 - i, i / 2]).collect();
        let mut bytes = Vec::new();
        let mut encoder = Encoder::new(&mut bytes, width, height, &palette).unwrap();
        encoder.set_repeat(Repeat::Infinite).unwrap();
        let mut frame = Frame {
            width,
            height,
            interlaced,
            transparent,
            buffer: frame_indices(width, height).into(),
            ..Frame::default()
        };
        encoder.write_frame(&frame).unwrap();
        frame.buffer = vec![0; usize::from(width) * usize::from(height)].into();
        encoder.write_frame(&frame).unwrap();
        drop(encoder);
        bytes
    }

    #[test]
    fn matches_the_generic_decoder_plain_and_interlaced() {
        for interlaced in [false, true] {
            // 37 rows: the bands do not divide the height.
            let bytes = gif(53, 37, interlaced, None);
            let ours = decode_first_frame(&bytes).unwrap().unwrap().to_rgb8();
            let generic = image::load_from_memory(&bytes).unwrap().to_rgb8();
            assert_eq!(ours.dimensions(), (53, 37));
            assert!(ours == generic, "interlaced: {interlaced}");
        }
    }

    #[test]
    fn a_used_transparent_index_goes_to_the_generic_decoder() {
        assert!(decode_first_frame(&gif(40, 30, false, Some(3))).is_none());
        // Declared but never used (the indices skip 252..=255): still opaque.
        assert!(decode_first_frame(&gif(40, 30, false, Some(254))).is_some());
    }

    #[test]
    fn a_canvas_without_pixels_is_refused() {
        // 0×0 canvas, one 0×0 frame with one code (clear) and the trailer.
        let mut bytes = b"GIF89a\0\0\0\0\0\0\0".to_vec();
        bytes.extend([0x2C, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0x04, 0, 0x3B]);
        assert!(matches!(decode_first_frame(&bytes), Some(Err(_))));
    }

    #[test]
    fn a_truncated_frame_is_refused() {
        let bytes = gif(200, 100, false, None);
        let cut = &bytes[..bytes.len() / 3];
        assert!(matches!(decode_first_frame(cut), Some(Err(_))));
    }
}
