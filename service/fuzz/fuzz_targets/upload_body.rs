//! The upload body reader: a raw body or a multipart form (the first line
//! of the input is the Content-Type, boundary included), under a small limit.
#![no_main]
use flipframe::fuzzing::upload_body;
use libfuzzer_sys::fuzz_target;

const LIMIT: u64 = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let content_type = &data[..split];
    let body = data.get(split + 1..).unwrap_or_default().to_vec();
    if let Some((length, filename)) = upload_body(content_type, body, LIMIT) {
        assert!(length as u64 <= LIMIT);
        if let Some(name) = filename {
            assert!(!name.contains(['/', '\\', '\0']), "{name:?}");
        }
    }
});
