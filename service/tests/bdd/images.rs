//! The images features talk about, by the words they use for them.

use crate::support::images::*;
use image::{Delay, DynamicImage, Frame, Rgb, RgbImage, Rgba, RgbaImage};
use std::sync::OnceLock;

pub fn named(description: &str) -> Vec<u8> {
    match description {
        "a landscape photo" => marked_jpeg(),
        "a PNG graphic" => png(quadrants(800, 450)),
        "a WebP picture" => fixture("quadrants.webp"),
        "an animated GIF" => animated_gif(&[RED, BLUE, GREEN]),
        "a BMP picture" => fixture("quadrants.bmp"),
        "a TIFF picture" => fixture("quadrants.tiff"),
        "a transparent PNG" => transparent_png(1600, 900),
        "a wide banner" => png(RgbImage::from_fn(2000, 1000, |x, _| {
            Rgb(if x < 1000 { RED } else { BLUE })
        })),
        "a phone photo whose EXIF says \"rotate 90° clockwise\"" => {
            fixture("exif-orientation-6.jpg")
        }
        "an empty file" => Vec::new(),
        "a text file" => b"Dear diary, today I uploaded a text file.\n".to_vec(),
        "an SVG drawing" => fixture("script.svg"),
        "a PDF document" => b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n".to_vec(),
        "a truncated JPEG" => fixture("truncated.jpg"),
        "a decompression bomb" => png_claiming(100_000, 100_000),
        "a GIF with 2000 frames" => many_frames().clone(),
        "a 30 MiB file" => vec![0xFF; 30 * 1024 * 1024],
        other => panic!("no image is called {other:?}"),
    }
}

/// Two thousand 1×1 frames: tiny on disk, a bomb by frame count.
fn many_frames() -> &'static Vec<u8> {
    static GIF: OnceLock<Vec<u8>> = OnceLock::new();
    GIF.get_or_init(|| {
        let mut bytes = Vec::new();
        {
            let mut encoder = image::codecs::gif::GifEncoder::new(&mut bytes);
            let frames = (0..2000).map(|i| {
                let shade = (i % 256) as u8;
                Frame::from_parts(
                    RgbaImage::from_pixel(1, 1, Rgba([shade, 0, 0, 255])),
                    0,
                    0,
                    Delay::from_numer_denom_ms(10, 1),
                )
            });
            encoder.encode_frames(frames).expect("encodes");
        }
        bytes
    })
}

pub fn colour(name: &str) -> [u8; 3] {
    match name {
        "red" => RED,
        "green" => GREEN,
        "blue" => BLUE,
        "white" => WHITE,
        "black" => BLACK,
        other => panic!("no colour {other:?}"),
    }
}

pub fn decode_output(bytes: &[u8]) -> DynamicImage {
    decode(bytes)
}
