//! The worker's wire format on its stdin and stdout: a length-prefixed JSON
//! header, then a length-prefixed payload (the image in, the result out).

use crate::pipeline::{self, Encoded, Limits, OutputFormat, Rejection, TransformSpec, Validated};
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};
use std::panic::AssertUnwindSafe;

/// Largest header either side sends; anything longer is a broken peer.
const MAX_HEADER: u32 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Prove the image whole; no output.
    Validate,
    /// Validate and make the transformed version in one decode.
    Transform,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransformRequest {
    pub mode: Mode,
    /// The client's declared content type, which must not contradict the bytes.
    pub declared: Option<String>,
    pub spec: TransformSpec,
    pub limits: Limits,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Reply {
    pub result: Result<Described, Rejection>,
    pub cpu_micros: u64,
}

/// The result without its bytes, which follow as the payload.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Described {
    pub validated: Validated,
    pub encoded: Option<(OutputFormat, u32, u32)>,
}

/// The one place the pipeline is entered for an upload, on either backend.
/// A panic is this image's failure, not the caller's.
pub(super) fn execute(
    request: &TransformRequest,
    bytes: &[u8],
) -> Result<(Validated, Option<Encoded>), Rejection> {
    let declared = request.declared.as_deref();
    let run = || match request.mode {
        Mode::Validate => pipeline::validate(bytes, declared, &request.limits).map(|v| (v, None)),
        Mode::Transform => {
            pipeline::validate_and_transform(bytes, declared, &request.spec, &request.limits)
                .map(|(validated, encoded)| (validated, Some(encoded)))
        }
    };
    std::panic::catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|_| {
        Err(Rejection::DecoderCrashed {
            reason: "the decoder panicked".to_owned(),
        })
    })
}

pub(super) fn split(
    result: Result<(Validated, Option<Encoded>), Rejection>,
) -> (Result<Described, Rejection>, Vec<u8>) {
    match result {
        Ok((validated, encoded)) => {
            let meta = encoded.as_ref().map(|e| (e.format, e.width, e.height));
            let payload = encoded.map(|e| e.bytes).unwrap_or_default();
            (
                Ok(Described {
                    validated,
                    encoded: meta,
                }),
                payload,
            )
        }
        Err(rejection) => (Err(rejection), Vec::new()),
    }
}

pub(super) fn join(
    described: Result<Described, Rejection>,
    payload: Vec<u8>,
) -> Result<(Validated, Option<Encoded>), Rejection> {
    described.map(|d| {
        let encoded = d.encoded.map(|(format, width, height)| Encoded {
            bytes: payload,
            format,
            width,
            height,
        });
        (d.validated, encoded)
    })
}

/// What goes before a payload on the wire: the header's length, the
/// header, the payload's length. The payload follows as it is, uncopied.
pub(super) fn prefix(header: &impl Serialize, payload_length: usize) -> Vec<u8> {
    let header = serde_json::to_vec(header).expect("protocol types serialise");
    let mut out = Vec::with_capacity(12 + header.len());
    out.extend((header.len() as u32).to_le_bytes());
    out.extend(&header);
    out.extend((payload_length as u64).to_le_bytes());
    out
}

/// Reads one frame; `Ok(None)` on a clean end of input before it starts.
pub(super) fn read_frame<T: for<'de> Deserialize<'de>>(
    input: &mut impl Read,
    max_payload: u64,
) -> io::Result<Option<(T, Vec<u8>)>> {
    let mut length = [0u8; 4];
    match input.read_exact(&mut length) {
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    let header_length = u32::from_le_bytes(length);
    if header_length > MAX_HEADER {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "header too long",
        ));
    }
    let mut header = vec![0u8; header_length as usize];
    input.read_exact(&mut header)?;
    let header = serde_json::from_slice(&header)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
    let mut length = [0u8; 8];
    input.read_exact(&mut length)?;
    let payload_length = u64::from_le_bytes(length);
    if payload_length > max_payload {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "payload too long",
        ));
    }
    // Read into spare capacity: no zeroing of a buffer about to be filled.
    let mut payload = Vec::with_capacity(payload_length as usize);
    input.take(payload_length).read_to_end(&mut payload)?;
    if payload.len() as u64 != payload_length {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some((header, payload)))
}

pub(super) fn write_frame(
    output: &mut impl Write,
    header: &impl Serialize,
    payload: &[u8],
) -> io::Result<()> {
    output.write_all(&prefix(header, payload.len()))?;
    output.write_all(payload)?;
    output.flush()
}
