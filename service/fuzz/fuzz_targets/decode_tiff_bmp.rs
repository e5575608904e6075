//! The TIFF and BMP decoder paths: the first byte picks which.
#![no_main]
mod common;
use flipframe::pipeline::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((choice, image)) = data.split_first() else {
        return;
    };
    let format = if choice & 1 == 0 { Format::Tiff } else { Format::Bmp };
    common::decode_as(format, image);
});
