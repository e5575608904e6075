//! Decodes the first frame under `image::Limits` and applies the EXIF
//! orientation, so phone photos stand the right way up before anything else.

use super::{Inspection, Limits, Rejection};
use image::{DynamicImage, ImageDecoder, ImageReader};
use std::io::Cursor;

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
    // A broken EXIF block should not sink an otherwise good photo.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(Rejection::undecodable)?;
    image.apply_orientation(orientation);
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
