//! What every decoder target shares: the service's checks with small limits,
//! so a run is quick and a bomb is still refused the way uploads refuse it.
use flipframe::pipeline::{Format, Limits, TransformSpec, decode_for_frame, inspect, resize};

pub fn limits() -> Limits {
    Limits {
        max_body_bytes: 1 << 20,
        max_side: 4096,
        max_pixels: 4_000_000,
        max_frames: 16,
        max_decode_work: 2_000_000,
    }
}

/// Inspects and decodes `data` as `format` at a small frame (JPEG takes its
/// crop and scale-on-load path), then resizes the result: sniffing skipped.
pub fn decode_as(format: Format, data: &[u8]) {
    let limits = limits();
    let spec = TransformSpec {
        width: 64,
        height: 36,
        ..TransformSpec::default()
    };
    let Ok(inspection) = inspect(data, format, &limits) else {
        return;
    };
    if let Ok(image) = decode_for_frame(data, &inspection, &limits, &spec) {
        assert!(image.width() <= limits.max_side && image.height() <= limits.max_side);
        let _ = resize(image, &spec);
    }
}
