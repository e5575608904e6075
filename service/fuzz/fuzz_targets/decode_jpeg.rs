//! The Jpeg decoder path alone: inspection, then decoding at frame size.
#![no_main]
mod common;
use flipframe::pipeline::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::decode_as(Format::Jpeg, data));
