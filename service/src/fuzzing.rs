//! The fuzz targets' bodies (`fuzz/`), here so that `cargo fuzz` and the
//! plain regression test over saved inputs (`tests/fuzz_regressions.rs`)
//! run the same checks: the request-side parsers private to the API, driven
//! the way a request drives them, and the pipeline under small limits.

use crate::admission::{MeteredBody, UploadMemory};
use crate::api::{clean_filename, read_upload};
use crate::auth::{Authenticator, DEV_CLIENT_ID, DEV_ISSUER, DevIssuer, ExternalTokens};
use crate::auth::{JwksCache, JwtVerifier, StaticJwks};
use crate::pipeline::{
    Format, Limits, TransformSpec, decode, decode_for_frame, inspect, resize,
    validate_and_transform,
};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    RUNTIME.with(|runtime| runtime.block_on(future))
}

/// Reads `body` as an upload with `content_type` (raw, or multipart with its
/// boundary), under `limit` bytes; returns the file's length and its name
/// as the log would record it.
pub fn upload_body(
    content_type: &[u8],
    body: Vec<u8>,
    limit: u64,
) -> Option<(usize, Option<String>)> {
    let mut request = Request::new(Body::empty());
    if let Ok(value) = HeaderValue::from_bytes(content_type) {
        request.headers_mut().insert("content-type", value);
    }
    let meter = MeteredBody::new(
        Body::from(body),
        UploadMemory::new(limit, limit),
        Duration::from_secs(60),
        1,
        Duration::from_secs(1),
    );
    block_on(read_upload(request, limit, meter))
        .ok()
        .map(|upload| {
            let name = upload.filename.as_deref().and_then(clean_filename);
            (upload.bytes.len(), name)
        })
}

/// The dev issuer's key in a folder of its own, and a verifier trusting it.
pub struct Keys {
    pub issuer: DevIssuer,
    authenticator: Authenticator,
    _folder: tempfile::TempDir,
}

pub static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let issuer = DevIssuer::load_or_create(folder.path()).expect("a dev key");
    let keys = JwksCache::new(
        Box::new(StaticJwks(issuer.jwks())),
        Duration::from_secs(3600),
    );
    let users = JwtVerifier::new(
        DEV_ISSUER.to_owned(),
        vec![DEV_CLIENT_ID.to_owned()],
        Arc::new(keys),
    );
    let external = ExternalTokens::parse(&format!(
        "partner:{}",
        crate::auth::hash_token(PARTNER_TOKEN).expect("a token hash")
    ))
    .expect("external tokens");
    Keys {
        issuer,
        authenticator: Authenticator::new(users, external),
        _folder: folder,
    }
});

/// The external token the fuzzing authenticator knows.
pub const PARTNER_TOKEN: &str = "fuzzing-partner-token-0123456789abcdef";

/// Authenticates the headers in `head` (`name: value` lines); true when
/// a caller was recognised.
pub fn authenticate(head: &[u8]) -> bool {
    let mut headers = HeaderMap::new();
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    block_on(KEYS.authenticator.authenticate(&headers)).is_ok()
}

/// The fuzz targets by name, as `service/fuzz` builds them.
pub const TARGETS: [&str; 8] = [
    "upload_pipeline",
    "decode_jpeg",
    "decode_webp",
    "decode_png",
    "decode_gif",
    "decode_tiff_bmp",
    "credentials",
    "upload_body",
];

/// Runs one target's checks on `data`; panics on a finding.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "upload_pipeline" => upload_pipeline(data),
        "decode_jpeg" => decode_as(Format::Jpeg, data),
        "decode_webp" => decode_as(Format::Webp, data),
        "decode_png" => decode_as(Format::Png, data),
        "decode_gif" => decode_as(Format::Gif, data),
        "decode_tiff_bmp" => decode_tiff_or_bmp(data),
        "credentials" => credentials(data),
        "upload_body" => upload_body_target(data),
        other => panic!("no fuzz target {other}"),
    }
}

/// Small limits so each run is quick; the shapes of the checks are the service's.
fn limits() -> Limits {
    Limits {
        max_body_bytes: 1 << 20,
        max_side: 4096,
        max_pixels: 4_000_000,
        max_frames: 16,
        max_decode_work: 2_000_000,
    }
}

fn small_frame() -> TransformSpec {
    TransformSpec {
        width: 64,
        height: 36,
        ..TransformSpec::default()
    }
}

/// An upload's bytes as the service meets them: sniff, inspect, decode under
/// the limits, resize, rotate, encode.
pub fn upload_pipeline(data: &[u8]) {
    let limits = limits();
    if let Ok((validated, encoded)) = validate_and_transform(data, None, &small_frame(), &limits) {
        assert!(validated.width <= limits.max_side && validated.height <= limits.max_side);
        assert!(!encoded.bytes.is_empty());
    }
}

/// One decoder path alone: inspection, then decoding at a small frame (JPEG
/// takes its crop and scale-on-load path), then the resize; no sniffing.
pub fn decode_as(format: Format, data: &[u8]) {
    let (limits, spec) = (limits(), small_frame());
    let Ok(inspection) = inspect(data, format, &limits) else {
        return;
    };
    if let Ok(image) = decode_for_frame(data, &inspection, &limits, &spec) {
        assert!(image.width() <= limits.max_side && image.height() <= limits.max_side);
        // GIF's fast path has its own block walk and LZW decoder: whatever
        // it decodes, the generic decoder must see the same.
        if format == Format::Gif
            && let Ok(generic) = decode(data, &inspection, &limits)
        {
            assert!(
                image.to_rgb8() == generic.to_rgb8(),
                "the GIF decoders differ"
            );
        }
        let _ = resize(image, &spec);
    }
    #[cfg(feature = "native-codecs")]
    match format {
        Format::Jpeg => {
            same_jpeg_from_both_entropy_decoders(data, &inspection, &spec);
            same_frame_in_one_pass(data, &inspection, &limits, &spec);
        }
        Format::Webp => same_webp_from_both_token_decoders(data, &inspection, &spec),
        _ => {}
    }
}

/// The one-pass path (rows resized as they are decoded) against the two
/// stages: the same verdict, and the same frame whenever both decode.
#[cfg(feature = "native-codecs")]
fn same_frame_in_one_pass(
    data: &[u8],
    inspection: &crate::pipeline::Inspection,
    limits: &Limits,
    spec: &TransformSpec,
) {
    use crate::pipeline::decode_to_frame;
    let Some(one_pass) = decode_to_frame(data, inspection, spec) else {
        return;
    };
    let two_stages =
        decode_for_frame(data, inspection, limits, spec).and_then(|image| resize(image, spec));
    match (one_pass, two_stages) {
        (Ok(one), Ok(two)) => assert!(one == two, "the one-pass frame differs"),
        (Err(_), Err(_)) => {}
        (one, two) => panic!("the paths disagree: {one:?} against {two:?}"),
    }
}

/// Our VP8 token decoder against libwebp's: the same verdict, and the same
/// pixels whenever both decode (`vp8_tokens` keeps libwebp's arithmetic
/// and end-of-data rule, damaged streams included).
#[cfg(feature = "native-codecs")]
fn same_webp_from_both_token_decoders(
    data: &[u8],
    inspection: &crate::pipeline::Inspection,
    spec: &TransformSpec,
) {
    use crate::pipeline::{WebpTokens, decode_webp_for_frame};
    let decode = |tokens| decode_webp_for_frame(data, inspection, spec, tokens);
    match (decode(WebpTokens::Ours), decode(WebpTokens::Libwebp)) {
        (Some(Ok(ours)), Some(Ok(theirs))) => {
            assert!(ours == theirs, "the VP8 token decoders differ")
        }
        (Some(Err(_)), Some(Err(_))) | (None, None) => {}
        (ours, theirs) => panic!(
            "the VP8 token decoders' verdicts differ: ours {:?}, libwebp's {:?}",
            ours.map(|verdict| verdict.is_ok()),
            theirs.map(|verdict| verdict.is_ok())
        ),
    }
}

/// Our Huffman decoder against libjpeg-turbo's: the same pixels whenever
/// both decode, and never a refusal of ours alone. (libjpeg-turbo refuses
/// alone where its verdict depends on its path: up to 7 stray bytes before
/// a marker, which we always let pass, and a bad code, which its fast path
/// takes as a zero and its slow path refuses.) Not compared: pixels of data
/// with 0xFF fill bytes before a stuffed 0xFF 0x00, which libjpeg-turbo's
/// fast path takes for a marker; it then decodes the MCU again on its slow
/// path without clearing what the first attempt stored.
#[cfg(feature = "native-codecs")]
fn same_jpeg_from_both_entropy_decoders(
    data: &[u8],
    inspection: &crate::pipeline::Inspection,
    spec: &TransformSpec,
) {
    use crate::pipeline::{JpegEntropy, decode_jpeg_for_frame};
    let decode = |entropy| decode_jpeg_for_frame(data, inspection, spec, entropy);
    match (decode(JpegEntropy::Ours), decode(JpegEntropy::Libjpeg)) {
        (Some(Ok(ours)), Some(Ok(theirs))) => {
            let fills = data.windows(2).any(|pair| pair == [0xFF, 0xFF]);
            assert!(fills || ours == theirs, "the JPEG entropy decoders differ")
        }
        (Some(Err(ours)), Some(Ok(_))) => panic!("only our JPEG entropy decoder refuses: {ours:?}"),
        _ => {}
    }
}

/// The TIFF and BMP paths: the first byte picks which.
pub fn decode_tiff_or_bmp(data: &[u8]) {
    if let Some((choice, image)) = data.split_first() {
        let format = if choice & 1 == 0 {
            Format::Tiff
        } else {
            Format::Bmp
        };
        decode_as(format, image);
    }
}

/// Request headers as credentials meet them. Nothing made up may pass: only
/// the configured external token, or a JWT the dev key signed (which a
/// fuzzer cannot forge).
pub fn credentials(head: &[u8]) {
    if authenticate(head) {
        let text = String::from_utf8_lossy(head);
        assert!(
            text.contains(PARTNER_TOKEN) || text.contains("eyJ"),
            "{text}"
        );
    }
}

/// The upload body reader: the first line is the Content-Type (boundary
/// included), the rest the body, under a small limit.
pub fn upload_body_target(data: &[u8]) {
    const LIMIT: u64 = 64 * 1024;
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let body = data.get(split + 1..).unwrap_or_default().to_vec();
    if let Some((length, filename)) = upload_body(&data[..split], body, LIMIT) {
        assert!(length as u64 <= LIMIT);
        if let Some(name) = filename {
            assert!(!name.contains(['/', '\\', '\0']), "{name:?}");
        }
    }
}
