//! An upload's bytes as the service meets them: sniff, inspect, decode under
//! the limits, resize, rotate, encode. Limits are small so each run is quick;
//! the shapes of the checks are the service's.
#![no_main]
use flipframe::pipeline::{Limits, TransformSpec, validate_and_transform};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_body_bytes: 1 << 20,
        max_side: 4096,
        max_pixels: 4_000_000,
        max_frames: 16,
        max_decode_work: 2_000_000,
    };
    let spec = TransformSpec {
        width: 64,
        height: 36,
        ..TransformSpec::default()
    };
    if let Ok((validated, encoded)) = validate_and_transform(data, None, &spec, &limits) {
        assert!(validated.width <= limits.max_side && validated.height <= limits.max_side);
        assert!(!encoded.bytes.is_empty());
    }
});
