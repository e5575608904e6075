//! Why an input is refused, with a stable machine code and an HTTP status.

use http::StatusCode;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Rejection {
    #[error("the body is empty")]
    Empty,
    #[error("the body is larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: u64 },
    /// The body arrived slower than the service's minimum rate.
    #[error("the body arrived slower than the minimum of {min_rate} bytes a second")]
    BodyTooSlow { min_rate: u64 },
    #[error("SVG is not accepted: it can carry scripts")]
    Svg,
    #[error("the bytes are not an image in an accepted format (JPEG, PNG, WebP, GIF, BMP, TIFF){}", detected_suffix(.detected))]
    UnsupportedFormat { detected: Option<String> },
    #[error("the declared content type {declared} contradicts the bytes, which are {detected}")]
    ContentTypeMismatch { declared: String, detected: String },
    #[error(
        "the image is {width}×{height}; the limit is {max_side} px a side and {max_pixels} pixels"
    )]
    DimensionsExceeded {
        width: u32,
        height: u32,
        max_side: u32,
        max_pixels: u64,
    },
    #[error("the image has more than {limit} frames")]
    TooManyFrames { limit: u32 },
    #[error("the image is truncated or corrupt: {reason}")]
    Undecodable { reason: String },
    /// Its structure asks for more decoding work than the limits allow.
    #[error("the image would cost too much to decode: {reason}")]
    TooComplex { reason: String },
    /// Decoding ran past the per-transform deadline and was stopped.
    #[error("decoding the image took longer than the limit of {:.1} s and was stopped", *.millis as f64 / 1000.0)]
    TransformTimeout { millis: u64 },
    /// The decoder's process died on this input (a crash, or over its memory limit).
    #[error("the decoder could not survive this image: {reason}")]
    DecoderCrashed { reason: String },
}

fn detected_suffix(detected: &Option<String>) -> String {
    detected
        .as_ref()
        .map(|d| format!("; detected {d}"))
        .unwrap_or_default()
}

impl Rejection {
    /// Stable code that clients and the processing log can match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty_body",
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::BodyTooSlow { .. } => "body_too_slow",
            Self::Svg => "svg_not_accepted",
            Self::UnsupportedFormat { .. } => "unsupported_format",
            Self::ContentTypeMismatch { .. } => "content_type_mismatch",
            Self::DimensionsExceeded { .. } => "dimensions_exceeded",
            Self::TooManyFrames { .. } => "too_many_frames",
            Self::Undecodable { .. } => "undecodable_image",
            Self::TooComplex { .. } => "too_complex",
            Self::TransformTimeout { .. } => "transform_timeout",
            Self::DecoderCrashed { .. } => "decoder_crashed",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTooSlow { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::Svg | Self::UnsupportedFormat { .. } | Self::ContentTypeMismatch { .. } => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::Empty
            | Self::DimensionsExceeded { .. }
            | Self::TooManyFrames { .. }
            | Self::Undecodable { .. }
            | Self::TooComplex { .. }
            | Self::TransformTimeout { .. }
            | Self::DecoderCrashed { .. } => StatusCode::BAD_REQUEST,
        }
    }

    pub(crate) fn undecodable(error: impl std::fmt::Display) -> Self {
        Self::Undecodable {
            reason: error.to_string(),
        }
    }
}
