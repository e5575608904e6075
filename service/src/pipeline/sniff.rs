//! Detects the real format from magic numbers; names and declared types are
//! never trusted.

use super::Rejection;
use image::ImageFormat;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    Gif,
    Bmp,
    Tiff,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Gif => "image/gif",
            Self::Bmp => "image/bmp",
            Self::Tiff => "image/tiff",
        }
    }

    pub fn image_format(self) -> ImageFormat {
        match self {
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Png => ImageFormat::Png,
            Self::Webp => ImageFormat::WebP,
            Self::Gif => ImageFormat::Gif,
            Self::Bmp => ImageFormat::Bmp,
            Self::Tiff => ImageFormat::Tiff,
        }
    }

    /// Refuses a declared content type that names another format. Generic
    /// types (none, `application/octet-stream`) contradict nothing.
    pub fn check_declared(self, declared: Option<&str>) -> Result<(), Rejection> {
        let Some(declared) = declared else {
            return Ok(());
        };
        let essence = declared
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        // curl's `--data-binary` declares a form by default; it never means
        // anything about image bytes, so it contradicts nothing either.
        if essence.is_empty()
            || essence == "application/octet-stream"
            || essence == "application/x-www-form-urlencoded"
        {
            return Ok(());
        }
        let aliases: &[&str] = match self {
            Self::Jpeg => &["image/jpeg", "image/jpg", "image/pjpeg"],
            Self::Png => &["image/png", "image/apng"],
            Self::Webp => &["image/webp"],
            Self::Gif => &["image/gif"],
            Self::Bmp => &["image/bmp", "image/x-bmp", "image/x-ms-bmp"],
            Self::Tiff => &["image/tiff", "image/tiff-fx"],
        };
        if aliases.contains(&essence.as_str()) {
            Ok(())
        } else {
            Err(Rejection::ContentTypeMismatch {
                declared: essence,
                detected: self.content_type().to_owned(),
            })
        }
    }
}

pub fn sniff(bytes: &[u8]) -> Result<Format, Rejection> {
    if bytes.is_empty() {
        return Err(Rejection::Empty);
    }
    if looks_like_svg(bytes) {
        return Err(Rejection::Svg);
    }
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Ok(Format::Jpeg),
        Ok(ImageFormat::Png) => Ok(Format::Png),
        Ok(ImageFormat::WebP) => Ok(Format::Webp),
        Ok(ImageFormat::Gif) => Ok(Format::Gif),
        Ok(ImageFormat::Bmp) => Ok(Format::Bmp),
        Ok(ImageFormat::Tiff) => Ok(Format::Tiff),
        Ok(other) => Err(Rejection::UnsupportedFormat {
            detected: Some(format!("{other:?}")),
        }),
        Err(_) => Err(Rejection::UnsupportedFormat { detected: None }),
    }
}

/// SVG is text: look for an `<svg` element near the start, after an optional
/// BOM, XML declaration, comments or doctype.
fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    trimmed.starts_with('<') && text.contains("<svg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_type_must_match_the_bytes() {
        assert!(Format::Jpeg.check_declared(Some("image/jpeg")).is_ok());
        assert!(Format::Jpeg.check_declared(Some("IMAGE/JPEG; q=1")).is_ok());
        assert!(Format::Jpeg.check_declared(None).is_ok());
        assert!(
            Format::Jpeg
                .check_declared(Some("application/octet-stream"))
                .is_ok()
        );
        assert_eq!(
            Format::Png.check_declared(Some("image/jpeg")),
            Err(Rejection::ContentTypeMismatch {
                declared: "image/jpeg".into(),
                detected: "image/png".into()
            })
        );
        assert!(Format::Png.check_declared(Some("text/plain")).is_err());
    }

    #[test]
    fn svg_is_recognised_behind_an_xml_prolog() {
        let svg = b"\xef\xbb\xbf<?xml version=\"1.0\"?>\n<!-- x -->\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
        assert_eq!(sniff(svg), Err(Rejection::Svg));
        assert_eq!(
            sniff(b"hello world"),
            Err(Rejection::UnsupportedFormat { detected: None })
        );
        assert_eq!(sniff(b""), Err(Rejection::Empty));
    }
}
