//! Why an input is refused, with a stable machine code and an HTTP status.

use http::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the body is empty")]
    Empty,
    #[error("the body is larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: u64 },
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
            Self::Svg => "svg_not_accepted",
            Self::UnsupportedFormat { .. } => "unsupported_format",
            Self::ContentTypeMismatch { .. } => "content_type_mismatch",
            Self::DimensionsExceeded { .. } => "dimensions_exceeded",
            Self::TooManyFrames { .. } => "too_many_frames",
            Self::Undecodable { .. } => "undecodable_image",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Svg | Self::UnsupportedFormat { .. } | Self::ContentTypeMismatch { .. } => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::Empty
            | Self::DimensionsExceeded { .. }
            | Self::TooManyFrames { .. }
            | Self::Undecodable { .. } => StatusCode::BAD_REQUEST,
        }
    }

    pub(crate) fn undecodable(error: impl std::fmt::Display) -> Self {
        Self::Undecodable {
            reason: error.to_string(),
        }
    }
}
