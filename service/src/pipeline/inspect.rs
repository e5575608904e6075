//! Reads only the header and refuses images over the limits before any pixel
//! buffer is allocated: the defence against decompression bombs.

use super::structure::jpeg;
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
    // image's JPEG decoder copies the whole file to read its header (4.4 MB
    // and 525 page faults of a fresh process on the 20 MP bench photo); the
    // marker walk the work limit needs has the size and the EXIF block.
    let jpeg = match format {
        Format::Jpeg => Some(jpeg::read(bytes)?),
        _ => None,
    };
    let (width, height, orientation) = match &jpeg {
        Some(structure) => (
            structure.width,
            structure.height,
            structure
                .exif
                .as_ref()
                .and_then(|exif| Orientation::from_exif_chunk(&bytes[exif.clone()])),
        ),
        None => {
            let mut decoder = ImageReader::with_format(Cursor::new(bytes), format.image_format())
                .into_decoder()
                .map_err(Rejection::undecodable)?;
            let (width, height) = decoder.dimensions();
            (width, height, decoder.orientation().ok())
        }
    };
    // A broken EXIF block should not sink an otherwise good photo.
    let orientation = orientation.unwrap_or(Orientation::NoTransforms);
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
    match &jpeg {
        Some(structure) => super::structure::check_jpeg(structure, limits)?,
        None => super::structure::check(bytes, format, limits)?,
    }
    Ok(Inspection {
        format,
        width,
        height,
        orientation,
    })
}
