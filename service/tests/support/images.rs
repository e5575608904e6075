//! Images built in the test, with known pixels to check after the transform.

use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::{Delay, DynamicImage, Frame, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use std::io::Cursor;
use std::path::PathBuf;

pub const RED: [u8; 3] = [255, 0, 0];
pub const GREEN: [u8; 3] = [0, 255, 0];
pub const BLUE: [u8; 3] = [0, 0, 255];
pub const WHITE: [u8; 3] = [255, 255, 255];
pub const BLACK: [u8; 3] = [0, 0, 0];

/// Quadrants red (top-left), green (top-right), blue (bottom-left), white.
pub fn quadrants(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let colour = match (x < width / 2, y < height / 2) {
            (true, true) => RED,
            (false, true) => GREEN,
            (true, false) => BLUE,
            (false, false) => WHITE,
        };
        Rgb(colour)
    })
}

pub fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .expect("encodes");
    bytes
}

pub fn png(image: RgbImage) -> Vec<u8> {
    encode(&DynamicImage::ImageRgb8(image), ImageFormat::Png)
}

pub fn jpeg(image: &RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, 95)
        .encode_image(image)
        .expect("encodes");
    bytes
}

/// A 16:9 quadrant photo as JPEG.
pub fn marked_jpeg() -> Vec<u8> {
    jpeg(&quadrants(1600, 900))
}

/// Inserts an EXIF block with this orientation (and a GPS pointer, so leaks
/// of location data would show) right after the JPEG's SOI marker.
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    tiff.extend_from_slice(&2u16.to_be_bytes());
    // Orientation (SHORT).
    tiff.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1]);
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    // GPS IFD pointer (LONG) to an empty IFD right after this one.
    tiff.extend_from_slice(&[0x88, 0x25, 0x00, 0x04, 0, 0, 0, 1]);
    tiff.extend_from_slice(&38u32.to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut segment = b"Exif\x00\x00".to_vec();
    segment.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((segment.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&segment);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// RGBA quadrants whose top-left quadrant is fully transparent.
pub fn transparent_png(width: u32, height: u32) -> Vec<u8> {
    let rgb = quadrants(width, height);
    let rgba = RgbaImage::from_fn(width, height, |x, y| {
        let [r, g, b] = rgb.get_pixel(x, y).0;
        let alpha = if x < width / 2 && y < height / 2 {
            0
        } else {
            255
        };
        Rgba([r, g, b, alpha])
    });
    encode(&DynamicImage::ImageRgba8(rgba), ImageFormat::Png)
}

/// An animated GIF whose frames are solid in these colours, in order.
pub fn animated_gif(colours: &[[u8; 3]]) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut bytes);
        let frames = colours.iter().map(|&[r, g, b]| {
            Frame::from_parts(
                RgbaImage::from_pixel(64, 36, Rgba([r, g, b, 255])),
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            )
        });
        encoder.encode_frames(frames).expect("encodes");
    }
    bytes
}

/// A PNG whose header claims `width × height` but carries almost no data:
/// what a decompression bomb looks like before anything is decoded.
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = png(RgbImage::new(1, 1));
    // IHDR data starts at byte 16: width, height; its CRC follows the 13 bytes.
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32fast::hash(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

pub fn decode(bytes: &[u8]) -> DynamicImage {
    image::load_from_memory(bytes).expect("the output decodes")
}

/// Asserts the pixel at (x, y) is within `tolerance` of `expected` per channel.
pub fn assert_colour(image: &DynamicImage, x: u32, y: u32, expected: [u8; 3]) {
    let pixel = image.to_rgb8().get_pixel(x, y).0;
    let close = pixel
        .iter()
        .zip(expected)
        .all(|(&got, want)| got.abs_diff(want) <= 40);
    assert!(
        close,
        "pixel ({x}, {y}) is {pixel:?}, expected about {expected:?}"
    );
}

/// The four probe points near the corners of a 1280×720 output, in order
/// top-left, top-right, bottom-left, bottom-right.
pub const CORNERS: [(u32, u32); 4] = [(100, 100), (1180, 100), (100, 620), (1180, 620)];

pub fn assert_corners(image: &DynamicImage, colours: [[u8; 3]; 4]) {
    for ((x, y), colour) in CORNERS.into_iter().zip(colours) {
        assert_colour(image, x, y, colour);
    }
}

/// A progressive JPEG whose last scan is sent `times` more: the classic
/// CPU bomb (every repeat walks every block again).
pub fn repeated_last_scan(jpeg: &[u8], times: usize) -> Vec<u8> {
    let mut scans = Vec::new();
    let mut at = 2;
    while jpeg[at + 1] != 0xD9 {
        let length = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        if jpeg[at + 1] != 0xDA {
            at += 2 + length;
            continue;
        }
        let mut end = at + 2 + length;
        while jpeg[end] != 0xFF || matches!(jpeg[end + 1], 0x00 | 0xD0..=0xD7) {
            end += 1;
        }
        scans.push(at..end);
        at = end;
    }
    let last = scans.last().expect("a scan").clone();
    let mut bomb = jpeg[..last.end].to_vec();
    for _ in 0..times {
        bomb.extend_from_slice(&jpeg[last.clone()]);
    }
    bomb.extend_from_slice(&[0xFF, 0xD9]);
    bomb
}
