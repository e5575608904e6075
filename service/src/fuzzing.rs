//! Entry points for the fuzz targets (`fuzz/`, feature `fuzzing`): the
//! request-side parsers that are private to the API, driven the way a
//! request drives them, on one reused current-thread runtime.

use crate::admission::{MeteredBody, UploadMemory};
use crate::api::{clean_filename, read_upload};
use crate::auth::{Authenticator, DEV_CLIENT_ID, DEV_ISSUER, DevIssuer, ExternalTokens};
use crate::auth::{JwksCache, JwtVerifier, StaticJwks};
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
