//! Encodes the output: JPEG (libjpeg-turbo, 4:2:0; without the
//! `native-codecs` feature, the `image` crate's pure-Rust 4:4:4 encoder) for
//! opaque images, PNG where transparency must survive. Encoders write pixels only, so no
//! metadata (GPS!) leaks through.

use super::{Rejection, TransformSpec};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{DynamicImage, ImageEncoder, RgbImage};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Jpeg,
    Png,
}

impl OutputFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
        }
    }

    pub fn from_content_type(content_type: &str) -> Option<Self> {
        match content_type {
            "image/jpeg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub format: OutputFormat,
    pub width: u32,
    pub height: u32,
}

pub fn encode(image: DynamicImage, spec: &TransformSpec) -> Result<Encoded, Rejection> {
    let (width, height) = (image.width(), image.height());
    let mut bytes = Vec::new();
    let format = match image {
        DynamicImage::ImageRgba8(rgba) if rgba.pixels().any(|p| p.0[3] < u8::MAX) => {
            PngEncoder::new_with_quality(&mut bytes, CompressionType::Fast, FilterType::Adaptive)
                .write_image(&rgba, width, height, image::ExtendedColorType::Rgba8)
                .map_err(Rejection::undecodable)?;
            OutputFormat::Png
        }
        other => {
            encode_jpeg(&other.into_rgb8(), spec.jpeg_quality, &mut bytes)?;
            OutputFormat::Jpeg
        }
    };
    Ok(Encoded {
        bytes,
        format,
        width,
        height,
    })
}

#[cfg(feature = "native-codecs")]
fn encode_jpeg(rgb: &RgbImage, quality: u8, out: &mut Vec<u8>) -> Result<(), Rejection> {
    let pixels = turbojpeg::Image {
        pixels: rgb.as_raw().as_slice(),
        width: rgb.width() as usize,
        pitch: rgb.width() as usize * 3,
        height: rgb.height() as usize,
        format: turbojpeg::PixelFormat::RGB,
    };
    let jpeg = turbojpeg::compress(pixels, i32::from(quality), turbojpeg::Subsamp::Sub2x2)
        .map_err(Rejection::undecodable)?;
    out.extend_from_slice(&jpeg);
    Ok(())
}

#[cfg(not(feature = "native-codecs"))]
fn encode_jpeg(rgb: &RgbImage, quality: u8, out: &mut Vec<u8>) -> Result<(), Rejection> {
    image::codecs::jpeg::JpegEncoder::new_with_quality(out, quality)
        .encode_image(rgb)
        .map_err(Rejection::undecodable)
}
