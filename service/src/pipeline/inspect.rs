//! Reads only the header and refuses images over the limits before any pixel
//! buffer is allocated: the defence against decompression bombs.

use super::{Format, Limits, Rejection};
use image::metadata::Orientation;
use image::{ImageDecoder, ImageReader};
use std::io::Cursor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inspection {
    pub format: Format,
    /// Stored dimensions, before EXIF orientation.
    pub width: u32,
    pub height: u32,
    /// The EXIF orientation every decoder applies.
    pub orientation: Orientation,
}

impl Inspection {
    /// Whether the orientation turns the image a quarter, swapping its sides.
    pub fn quarter_turned(&self) -> bool {
        matches!(
            self.orientation,
            Orientation::Rotate90
                | Orientation::Rotate270
                | Orientation::Rotate90FlipH
                | Orientation::Rotate270FlipH
        )
    }

    /// The size as displayed, after the orientation.
    pub fn displayed_size(&self) -> (u32, u32) {
        if self.quarter_turned() {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

pub fn inspect(bytes: &[u8], format: Format, limits: &Limits) -> Result<Inspection, Rejection> {
    let mut decoder = ImageReader::with_format(Cursor::new(bytes), format.image_format())
        .into_decoder()
        .map_err(Rejection::undecodable)?;
    let (width, height) = decoder.dimensions();
    // A broken EXIF block should not sink an otherwise good photo.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    if width == 0 || height == 0 {
        return Err(Rejection::undecodable("the image has no pixels"));
    }
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_side || height > limits.max_side || pixels > limits.max_pixels {
        return Err(Rejection::DimensionsExceeded {
            width,
            height,
            max_side: limits.max_side,
            max_pixels: limits.max_pixels,
        });
    }
    match format {
        Format::Gif => check_gif_frames(bytes, limits.max_frames)?,
        Format::Jpeg => check_jpeg_complete(bytes)?,
        _ => {}
    }
    Ok(Inspection {
        format,
        width,
        height,
        orientation,
    })
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

/// The JPEG decoder fills a truncated scan with grey instead of failing, so
/// check the structure: after the first scan (SOS) there must be an EOI. In
/// entropy-coded data every 0xFF is stuffed as 0xFF00, so 0xFFD9 there is
/// always the real end marker.
fn check_jpeg_complete(bytes: &[u8]) -> Result<(), Rejection> {
    let truncated = || Rejection::undecodable("the JPEG ends before its end-of-image marker");
    let mut at = 2;
    loop {
        let segment = bytes.get(at..at + 4).ok_or_else(truncated)?;
        if segment[0] != 0xFF {
            return Err(Rejection::undecodable("the JPEG has a broken segment"));
        }
        match segment[1] {
            // Fill bytes before a marker.
            0xFF => at += 1,
            // Start of scan: the end marker must follow somewhere.
            0xDA => break,
            // Stand-alone markers carry no length.
            0x01 | 0xD0..=0xD7 => at += 2,
            _ => at += 2 + usize::from(u16::from_be_bytes([segment[2], segment[3]])),
        }
    }
    let scan = &bytes[at..];
    if scan.windows(2).any(|pair| pair == [0xFF, 0xD9]) {
        Ok(())
    } else {
        Err(truncated())
    }
}

#[cfg(test)]
mod tests {
    use super::check_jpeg_complete;

    #[test]
    fn jpeg_structure_is_checked() {
        assert!(check_jpeg_complete(b"\xFF\xD8\xFF\xDA\x00\x02\x12\x34\xFF\xD9").is_ok());
        assert!(check_jpeg_complete(b"\xFF\xD8\xFF\xDA\x00\x02\x12\x34\xFF\x00").is_err());
        assert!(check_jpeg_complete(b"\xFF\xD8\xFF\xE0\x00\x10").is_err());
        assert!(check_jpeg_complete(b"\xFF\xD8\x00\x00").is_err());
        // An EOI inside an APP segment (a thumbnail) before the scan does not count.
        assert!(
            check_jpeg_complete(b"\xFF\xD8\xFF\xE1\x00\x04\xFF\xD9\xFF\xDA\x00\x02\x12").is_err()
        );
    }
}
