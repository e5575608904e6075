//! What `flipframe --version` says: the release, the commit it was built
//! from, and every codec with the library version that decodes it (the C
//! libraries' versions are what a CVE check needs).

/// `-V`: the release and commit.
pub const SHORT: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("FLIPFRAME_GIT_COMMIT"),
    ")"
);

/// `--version`: one line per component.
pub fn long() -> String {
    let mut lines = vec![SHORT.to_owned()];
    #[cfg(feature = "native-codecs")]
    {
        lines.push(format!(
            "jpeg: libjpeg-turbo {} (vendored, SIMD), decode and encode",
            env!("FLIPFRAME_LIBJPEG_TURBO_VERSION")
        ));
        lines.push(format!("webp: libwebp {} (vendored)", libwebp_version()));
    }
    #[cfg(not(feature = "native-codecs"))]
    {
        lines.push(format!(
            "jpeg: zune-jpeg {} (pure Rust, through image); encoder: image {}",
            env!("FLIPFRAME_ZUNE_JPEG_VERSION"),
            env!("FLIPFRAME_IMAGE_VERSION")
        ));
        lines.push(format!(
            "webp: image-webp {} (pure Rust)",
            env!("FLIPFRAME_IMAGE_WEBP_VERSION")
        ));
    }
    lines.push(format!(
        "png: png {} (pure Rust)",
        env!("FLIPFRAME_PNG_VERSION")
    ));
    lines.push(format!(
        "gif: gif {} (pure Rust)",
        env!("FLIPFRAME_GIF_VERSION")
    ));
    lines.push(format!(
        "bmp, tiff: image {} (pure Rust)",
        env!("FLIPFRAME_IMAGE_VERSION")
    ));
    lines.push(format!(
        "resize: fast_image_resize {}",
        env!("FLIPFRAME_RESIZE_VERSION")
    ));
    lines.push(format!("log: SQLite {} (vendored)", rusqlite::version()));
    lines.join("\n")
}

/// libwebp's own answer, 0xMMmmrr.
#[cfg(feature = "native-codecs")]
fn libwebp_version() -> String {
    // SAFETY: a pure function of the linked library, no arguments.
    let packed = unsafe { libwebp_sys::WebPGetDecoderVersion() };
    format!(
        "{}.{}.{}",
        packed >> 16,
        (packed >> 8) & 0xff,
        packed & 0xff
    )
}
