//! Fits the decoded image into the output frame with SIMD Lanczos3
//! (fast_image_resize): `cover` crops, `fill` stretches, `contain` letterboxes.

// The row resizer serves the native JPEG decoder only.
#[cfg_attr(not(feature = "native-codecs"), allow(dead_code))]
mod kernels;
#[cfg_attr(not(feature = "native-codecs"), allow(dead_code))]
mod rows;
#[cfg_attr(not(feature = "native-codecs"), allow(dead_code))]
mod taps;

#[cfg_attr(not(feature = "native-codecs"), allow(unused_imports))]
pub use rows::RowResizer;

use super::{Rejection, TransformSpec};
use fast_image_resize::{CropBox, FilterType, MulDiv, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, GenericImage, RgbImage, RgbaImage};
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// Scale to cover the frame and crop the overflow from the centre.
    #[default]
    Cover,
    /// Stretch to the frame exactly, distorting the aspect ratio.
    Fill,
    /// Scale to fit inside the frame and letterbox the rest.
    Contain,
}

/// Returns an 8-bit RGB image, or RGBA when the source has an alpha channel,
/// of exactly `spec.width × spec.height`.
pub fn resize(image: DynamicImage, spec: &TransformSpec) -> Result<DynamicImage, Rejection> {
    let alpha = image.color().has_alpha();
    let mut source = if alpha {
        DynamicImage::ImageRgba8(image.into_rgba8())
    } else {
        DynamicImage::ImageRgb8(image.into_rgb8())
    };
    // Resizing colour with alpha must weight by alpha. The resizer would
    // premultiply a full-size copy; doing it in place saves that copy.
    if alpha {
        MulDiv::default()
            .multiply_alpha_inplace(&mut source)
            .map_err(Rejection::undecodable)?;
    }
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .use_alpha(false);
    let mut framed = fit(&source, spec, &options)?;
    if alpha {
        MulDiv::default()
            .divide_alpha_inplace(&mut framed)
            .map_err(Rejection::undecodable)?;
    }
    Ok(framed)
}

fn fit(
    source: &DynamicImage,
    spec: &TransformSpec,
    options: &ResizeOptions,
) -> Result<DynamicImage, Rejection> {
    let options = *options;
    match spec.fit {
        Fit::Cover => scale(
            source,
            spec.width,
            spec.height,
            &options.fit_into_destination(None),
        ),
        Fit::Fill => scale(source, spec.width, spec.height, &options),
        Fit::Contain => {
            let (width, height) = contained_size(source.width(), source.height(), spec);
            let scaled = scale(source, width, height, &options)?;
            let mut canvas = blank_like(&scaled, spec.width, spec.height);
            let (left, top) = ((spec.width - width) / 2, (spec.height - height) / 2);
            canvas
                .copy_from(&scaled, left, top)
                .map_err(Rejection::undecodable)?;
            Ok(canvas)
        }
    }
}

fn scale(
    source: &DynamicImage,
    width: u32,
    height: u32,
    options: &ResizeOptions,
) -> Result<DynamicImage, Rejection> {
    let mut target = blank_like(source, width, height);
    Resizer::new()
        .resize(source, &mut target, options)
        .map_err(Rejection::undecodable)?;
    Ok(target)
}

/// What `resize` makes of a `width × height` source for `spec`, for a
/// resizer that takes the rows as they come (`RowResizer`): the part of the
/// source it reads and the size it makes. `None` for `contain`, which also
/// letterboxes.
#[cfg_attr(not(feature = "native-codecs"), allow(dead_code))]
pub fn framing(width: u32, height: u32, spec: &TransformSpec) -> Option<CropBox> {
    match spec.fit {
        Fit::Cover => Some(CropBox::fit_src_into_dst_size(
            width,
            height,
            spec.width,
            spec.height,
            None,
        )),
        Fit::Fill => Some(CropBox {
            left: 0.0,
            top: 0.0,
            width: f64::from(width),
            height: f64::from(height),
        }),
        Fit::Contain => None,
    }
}

/// A black (or, with alpha, fully transparent) canvas of the source's pixel type.
fn blank_like(source: &DynamicImage, width: u32, height: u32) -> DynamicImage {
    if source.color().has_alpha() {
        DynamicImage::ImageRgba8(RgbaImage::new(width, height))
    } else {
        DynamicImage::ImageRgb8(RgbImage::new(width, height))
    }
}

/// The least factor the source must keep in both directions so that
/// resizing only ever shrinks it into the frame: decoders may shrink this far.
pub fn needed_scale(width: u32, height: u32, spec: &TransformSpec) -> f64 {
    let (x, y) = (
        f64::from(spec.width) / f64::from(width),
        f64::from(spec.height) / f64::from(height),
    );
    match spec.fit {
        // Cover scales to the larger ratio and crops; fill needs both ratios.
        Fit::Cover | Fit::Fill => x.max(y),
        Fit::Contain => x.min(y),
    }
}

/// A centred part of a source image, in source pixels.
#[cfg_attr(not(feature = "native-codecs"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
}

/// The part of a `width × height` source that `spec`'s frame shows: for
/// `cover` the centred crop, widened by `margin` source pixels a side and
/// kept centred, so a decoder that crops to it leaves `fit` the same crop to
/// make; for `fill` and `contain`, all of it.
#[cfg_attr(not(feature = "native-codecs"), allow(dead_code))]
pub fn shown_region(width: u32, height: u32, spec: &TransformSpec, margin: u32) -> Region {
    let whole = Region {
        left: 0,
        top: 0,
        width,
        height,
    };
    if spec.fit != Fit::Cover {
        return whole;
    }
    let scale = needed_scale(width, height, spec);
    // The first source pixel shown along a side, widened by the margin.
    let start = |side: u32, frame: u32| {
        let shown = (f64::from(frame) / scale).min(f64::from(side));
        (((f64::from(side) - shown) / 2.0).floor() as u32).saturating_sub(margin)
    };
    let (left, top) = (start(width, spec.width), start(height, spec.height));
    Region {
        left,
        top,
        width: width - 2 * left,
        height: height - 2 * top,
    }
}

/// The largest size with the source's aspect ratio inside the frame, at least 1 px.
fn contained_size(width: u32, height: u32, spec: &TransformSpec) -> (u32, u32) {
    let scale = f64::min(
        f64::from(spec.width) / f64::from(width),
        f64::from(spec.height) / f64::from(height),
    );
    let fitted = |side: u32, bound: u32| ((f64::from(side) * scale).round() as u32).clamp(1, bound);
    (fitted(width, spec.width), fitted(height, spec.height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contain_keeps_the_aspect_ratio() {
        let spec = TransformSpec::default();
        assert_eq!(contained_size(4000, 3000, &spec), (960, 720));
        assert_eq!(contained_size(3000, 1000, &spec), (1280, 427));
        assert_eq!(contained_size(10, 10_000, &spec), (1, 720));
    }

    #[test]
    fn cover_shows_the_centred_crop_plus_the_margin() {
        let spec = TransformSpec::default();
        // 4096² to 16:9: 2304 rows are shown, 896 cropped above and below.
        assert_eq!(
            shown_region(4096, 4096, &spec, 10),
            Region {
                left: 0,
                top: 886,
                width: 4096,
                height: 2324
            }
        );
        // A panorama loses its sides; a margin past the edge stops there.
        let region = shown_region(8000, 1000, &spec, 5000);
        assert_eq!((region.left, region.width, region.height), (0, 8000, 1000));
        let region = shown_region(8000, 1000, &spec, 0);
        assert_eq!((region.left, region.top, region.width), (3111, 0, 1778));
        let fill = TransformSpec {
            fit: Fit::Fill,
            ..spec
        };
        assert_eq!(shown_region(4096, 4096, &fill, 0).height, 4096);
    }
}
