//! `Content-Disposition` for downloads (RFC 6266): an ASCII `filename` made
//! safe for any client, and `filename*` (RFC 8187) with the user's own name
//! in UTF-8. Nothing a user typed can end the header or name a folder: the
//! name is cut to its last path segment, control characters, quotes and
//! separators are dropped, and the extension is the validated format's.

use axum::http::HeaderValue;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// RFC 8187 `attr-char`: what may stay unescaped in `filename*`.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

const MAX_STEM_CHARS: usize = 100;

/// `attachment` with the stem of `logged` (or `fallback`), `suffix` and `extension`.
pub fn attachment(
    logged: Option<&str>,
    fallback: &str,
    suffix: &str,
    extension: &str,
) -> HeaderValue {
    let stem = logged.map(stem_of).filter(|s| !s.is_empty());
    let stem = stem.as_deref().unwrap_or(fallback);
    let name = format!("{stem}{suffix}.{extension}");
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let value = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        utf8_percent_encode(&name, ATTR_CHAR)
    );
    // Only ASCII without controls is left, so this cannot fail.
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("attachment"))
}

/// The last path segment without its extension, without controls, quotes,
/// separators or leading dots, at most `MAX_STEM_CHARS` characters.
fn stem_of(logged: &str) -> String {
    let base = logged.rsplit(['/', '\\']).next().unwrap_or(logged);
    let stem = base.rsplit_once('.').map_or(base, |(stem, _)| stem);
    stem.chars()
        .filter(|c| !c.is_control() && !"\"\\/;:*?<>|".contains(*c))
        .skip_while(|c| *c == '.' || c.is_whitespace())
        .take(MAX_STEM_CHARS)
        .collect::<String>()
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(logged: Option<&str>) -> String {
        attachment(logged, "1234", "-1280x720", "jpg")
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn a_plain_name_keeps_its_stem_and_takes_the_validated_extension() {
        assert_eq!(
            header(Some("holiday.png")),
            "attachment; filename=\"holiday-1280x720.jpg\"; filename*=UTF-8''holiday-1280x720.jpg"
        );
    }

    #[test]
    fn a_hostile_name_cannot_end_the_header_or_name_a_folder() {
        let value = header(Some(
            "../../etc/x\"; filename=evil.exe\r\nSet-Cookie: a=b.jpg",
        ));
        assert!(!value.contains('\r') && !value.contains('\n'), "{value}");
        assert!(!value.contains("evil.exe\""), "{value}");
        assert!(!value.contains(".."), "{value}");
        assert_eq!(value.matches('"').count(), 2, "{value}");
    }

    #[test]
    fn unicode_survives_in_filename_star_and_is_replaced_in_filename() {
        let value = header(Some("Été à Paris.jpeg"));
        assert!(
            value.contains("filename=\"_t____Paris-1280x720.jpg\""),
            "{value}"
        );
        assert!(
            value.contains("filename*=UTF-8''%C3%89t%C3%A9%20%C3%A0%20Paris-1280x720.jpg"),
            "{value}"
        );
    }

    #[test]
    fn no_name_or_nothing_left_falls_back_to_the_id() {
        assert!(header(None).contains("filename=\"1234-1280x720.jpg\""));
        assert!(header(Some("...")).contains("filename=\"1234-1280x720.jpg\""));
        assert!(header(Some("\u{7}\u{1b}.png")).contains("filename=\"1234-1280x720.jpg\""));
    }
}
