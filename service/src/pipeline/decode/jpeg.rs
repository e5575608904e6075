//! JPEG through libjpeg-turbo with DCT-domain scaling: a 20 MP photo bound
//! for 1280×720 is decoded at 1/4 size, which skips most of the IDCT work and
//! memory. It is also cropped to the region the frame shows: rows below it
//! are never read, rows above it and columns beside it are entropy-decoded
//! but never transformed or converted (a 4:3 phone photo under `cover` loses
//! a quarter of its rows, a portrait one more than half of its columns).
//! TurboJPEG's raw bindings read the header; the decode itself goes through
//! libjpeg's API (`jpeg_scaled.c`), which lets it turn block smoothing off
//! and read the stream from several spans.

use super::super::resize::{Region, RowResizer, framing};
use super::super::structure::jpeg::MAX_SCANS;
use super::super::{Rejection, TransformSpec};
use super::jpeg_entropy::{ENTROPY_HOOKS, EntropyHooks};
use super::jpeg_rows::{Plane, Rows, row_of};
use image::{DynamicImage, GrayImage, RgbImage};
use std::ffi::{CStr, c_char, c_int, c_long, c_uint, c_void};
use std::ops::Range;
use turbojpeg::raw;

/// libjpeg-turbo's own cap on its intermediate buffers, in MB: the
/// coefficients of a 50 MP 4:4:4 progressive JPEG take 300.
const MAX_MEMORY_MB: c_int = 400;

/// Decodes at the smallest DCT scale that keeps `need` of the size, cropped
/// to `shown` (in stored pixels); `None` when libjpeg-turbo should not take
/// this JPEG (CMYK, lossless): the generic decoder does.
pub fn decode_scaled(
    bytes: &[u8],
    need: f64,
    shown: Region,
    entropy: Entropy,
) -> Option<Result<DynamicImage, Rejection>> {
    let decoded = Plan::new(bytes, need, shown).and_then(|plan| {
        let pixels = plan.decode(
            bytes,
            entropy,
            Plane::new(plan.crop.width, plan.crop.height, plan.channels),
        )?;
        plan.image(pixels.into_pixels())
    });
    settled(decoded)
}

/// As `decode_scaled`, and resized to `spec`'s frame on the way (see
/// `RowResizer`): the decoded image never exists whole. `None` where
/// `decode_scaled` says so, and for what the row resizer does not take
/// (greyscale, `contain`): `decode_scaled` and `resize` do those.
pub fn decode_framed(
    bytes: &[u8],
    need: f64,
    shown: Region,
    entropy: Entropy,
    spec: &TransformSpec,
) -> Option<Result<DynamicImage, Rejection>> {
    let framed = Plan::new(bytes, need, shown).and_then(|plan| {
        let (width, height) = (plan.crop.width as u32, plan.crop.height as u32);
        let crop = framing(width, height, spec).filter(|_| plan.channels == 3);
        let crop = crop.ok_or(Unsupported)?;
        let resizer = RowResizer::new(width, height, crop, spec.width, spec.height);
        let resized = plan.decode(bytes, entropy, resizer)?.finish();
        Ok(DynamicImage::ImageRgb8(resized))
    });
    settled(framed)
}

fn settled(decoded: Result<DynamicImage, DecodeError>) -> Option<Result<DynamicImage, Rejection>> {
    match decoded {
        Ok(image) => Some(Ok(image)),
        Err(Unsupported) => None,
        Err(Failed(reason)) => Some(Err(Rejection::undecodable(reason))),
    }
}

/// Who Huffman-decodes a sequential scan: `jpeg_entropy` (what the
/// transform uses) or libjpeg-turbo itself (what tests and the fuzzer hold
/// it to).
#[derive(Clone, Copy, Debug)]
pub enum Entropy {
    Ours,
    Libjpeg,
}

enum DecodeError {
    Unsupported,
    Failed(String),
}
use DecodeError::{Failed, Unsupported};

/// What the header says about decoding a JPEG for a frame: the scale, the
/// scans it needs, the crop and the colours.
struct Plan {
    kept: Option<Vec<Range<usize>>>,
    denom: usize,
    crop: ScaledCrop,
    channels: usize,
}

impl Plan {
    fn new(bytes: &[u8], need: f64, shown: Region) -> Result<Self, DecodeError> {
        // TurboJPEG reads the header; `jpeg_scaled.c` decodes.
        let jpeg = Decompressor::new()?;
        let length = bytes.len() as raw::size_t;
        // The scan and memory limits belong to the decode (`Request`); the
        // header alone only needs its warnings to count as errors.
        jpeg.set(raw::TJPARAM_TJPARAM_STOPONWARNING, 1)?;
        // SAFETY: the handle is live and the buffer is valid for its length.
        jpeg.check(unsafe { raw::tj3DecompressHeader(jpeg.0, bytes.as_ptr(), length) })?;
        let (width, height) = (
            jpeg.get(raw::TJPARAM_TJPARAM_JPEGWIDTH),
            jpeg.get(raw::TJPARAM_TJPARAM_JPEGHEIGHT),
        );
        let channels = match jpeg.get(raw::TJPARAM_TJPARAM_COLORSPACE) as raw::TJCS {
            raw::TJCS_TJCS_CMYK | raw::TJCS_TJCS_YCCK => return Err(Unsupported),
            raw::TJCS_TJCS_GRAY => 1,
            _ => 3,
        };
        if jpeg.get(raw::TJPARAM_TJPARAM_LOSSLESS) != 0 {
            return Err(Unsupported);
        }
        let (width, height) = (positive(width)?, positive(height)?);
        let denom = smallest_denominator(width, height, need);
        // A scaled progressive decode reads fewer scans (see `progressive`).
        let kept = if denom > 1 && jpeg.get(raw::TJPARAM_TJPARAM_PROGRESSIVE) == 1 {
            super::progressive::scans_for_scale(bytes, denom)
        } else {
            None
        };
        let subsampling = jpeg.get(raw::TJPARAM_TJPARAM_SUBSAMP);
        let crop = ScaledCrop::new(width, height, denom, mcu_width(subsampling), shown);
        Ok(Self {
            kept,
            denom,
            crop,
            channels,
        })
    }

    fn decode<R: Rows>(&self, bytes: &[u8], entropy: Entropy, rows: R) -> Result<R, DecodeError> {
        decode_ranges(
            bytes,
            self.kept.clone(),
            self.denom,
            &self.crop,
            self.channels,
            entropy,
            rows,
        )
    }

    fn image(&self, pixels: Vec<u8>) -> Result<DynamicImage, DecodeError> {
        let (w, h) = (self.crop.width as u32, self.crop.height as u32);
        let image = if self.channels == 1 {
            GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8)
        } else {
            RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8)
        };
        image.ok_or_else(|| Failed("decoded buffer has the wrong size".into()))
    }
}

/// Decodes the stream made of `kept`'s ranges of `bytes` (all of it when
/// `None`) at 1/`denom`, cropped: `crop`'s rows of `channels` bytes a
/// pixel, each to `rows`.
fn decode_ranges<R: Rows>(
    bytes: &[u8],
    kept: Option<Vec<Range<usize>>>,
    denom: usize,
    crop: &ScaledCrop,
    channels: usize,
    entropy: Entropy,
    mut rows: R,
) -> Result<R, DecodeError> {
    let spans: Vec<Span> = match kept {
        Some(ranges) => ranges
            .into_iter()
            .map(|range| Span::of(&bytes[range]))
            .collect(),
        None => vec![Span::of(bytes)],
    };
    let request = Request {
        denom: denom as c_uint,
        left: crop.left as c_uint,
        top: crop.top as c_uint,
        width: crop.width as c_uint,
        height: crop.height as c_uint,
        gray: c_int::from(channels == 1),
        max_scans: MAX_SCANS as c_int,
        max_memory_mb: MAX_MEMORY_MB.into(),
        entropy: match entropy {
            Entropy::Ours => &ENTROPY_HOOKS,
            Entropy::Libjpeg => std::ptr::null(),
        },
        row: row_of::<R>,
        sink: (&raw mut rows).cast(),
    };
    let mut message = [0 as c_char; JMSG_LENGTH_MAX];
    // SAFETY: the spans borrow `bytes`, alive for the call; `rows` outlives
    // it and gives room for each row (`Rows`), and the decoder writes no
    // more than the crop's rows of `width × channels` bytes; `message` has
    // the JMSG_LENGTH_MAX bytes libjpeg formats into.
    let status = unsafe {
        ff_jpeg_decode_scaled(spans.as_ptr(), spans.len(), &request, message.as_mut_ptr())
    };
    if status != 0 {
        // SAFETY: on failure the decoder left a NUL-terminated message there.
        let message = unsafe { CStr::from_ptr(message.as_ptr()) };
        return Err(Failed(message.to_string_lossy().into_owned()));
    }
    Ok(rows)
}

/// The RGB pixels of a whole `width × height` colour JPEG made of `kept`'s
/// ranges (all of `bytes` when `None`), decoded at 1/`denom` as the
/// transform decodes it: for tests that compare what cutting scans changes.
#[cfg(test)]
pub(super) fn decode_rgb(
    bytes: &[u8],
    kept: Option<Vec<Range<usize>>>,
    denom: usize,
    (width, height): (usize, usize),
) -> Result<Vec<u8>, String> {
    let whole = (0, 0, width.div_ceil(denom), height.div_ceil(denom));
    decode_region(bytes, kept, denom, whole, 3, Entropy::Ours)
}

/// The `(left, top, width, height)` region (in scaled pixels, the left edge
/// on the MCU grid) of `bytes` at 1/`denom`, `channels` bytes a pixel.
#[cfg(test)]
pub(super) fn decode_region(
    bytes: &[u8],
    kept: Option<Vec<Range<usize>>>,
    denom: usize,
    (left, top, width, height): (usize, usize, usize, usize),
    channels: usize,
    entropy: Entropy,
) -> Result<Vec<u8>, String> {
    let crop = ScaledCrop {
        left,
        top,
        width,
        height,
    };
    let plane = Plane::new(crop.width, crop.height, channels);
    decode_ranges(bytes, kept, denom, &crop, channels, entropy, plane)
        .map(Plane::into_pixels)
        .map_err(|error| match error {
            Failed(reason) => reason,
            Unsupported => "unsupported".into(),
        })
}

fn positive(side: c_int) -> Result<usize, DecodeError> {
    usize::try_from(side)
        .ok()
        .filter(|&side| side > 0)
        .ok_or_else(|| Failed(format!("the JPEG says it is {side} pixels wide or high")))
}

/// libjpeg's message buffer size (jpeglib.h).
const JMSG_LENGTH_MAX: usize = 200;

/// A part of the stream, in order: `jpeg_scaled.c` reads them one after another.
#[repr(C)]
struct Span {
    start: *const u8,
    length: usize,
}

impl Span {
    fn of(bytes: &[u8]) -> Self {
        Span {
            start: bytes.as_ptr(),
            length: bytes.len(),
        }
    }
}

/// `ff_request` in `jpeg_scaled.c`: the scale, the crop in scaled pixels,
/// the output colours and the limits.
#[repr(C)]
struct Request {
    denom: c_uint,
    left: c_uint,
    top: c_uint,
    width: c_uint,
    height: c_uint,
    gray: c_int,
    max_scans: c_int,
    max_memory_mb: c_long,
    entropy: *const EntropyHooks,
    row: unsafe extern "C" fn(sink: *mut c_void, index: c_uint) -> *mut u8,
    sink: *mut c_void,
}

unsafe extern "C" {
    fn ff_jpeg_decode_scaled(
        spans: *const Span,
        count: usize,
        request: *const Request,
        message: *mut c_char,
    ) -> c_int;
}

/// A TurboJPEG decompressor, destroyed when dropped.
struct Decompressor(raw::tjhandle);

impl Decompressor {
    fn new() -> Result<Self, DecodeError> {
        // SAFETY: no preconditions; a null handle is checked.
        let handle = unsafe { raw::tj3Init(raw::TJINIT_TJINIT_DECOMPRESS as c_int) };
        if handle.is_null() {
            return Err(Failed("libjpeg-turbo could not start".into()));
        }
        Ok(Self(handle))
    }

    fn get(&self, parameter: raw::TJPARAM) -> c_int {
        // SAFETY: the handle is live.
        unsafe { raw::tj3Get(self.0, parameter as c_int) }
    }

    fn set(&self, parameter: raw::TJPARAM, value: c_int) -> Result<(), DecodeError> {
        // SAFETY: the handle is live.
        self.check(unsafe { raw::tj3Set(self.0, parameter as c_int, value) })
    }

    /// Any non-zero status, warnings (a premature end, corrupt data) too, is
    /// an error here.
    fn check(&self, status: c_int) -> Result<(), DecodeError> {
        if status == 0 {
            return Ok(());
        }
        // SAFETY: libjpeg-turbo returns a NUL-terminated string it owns.
        let message = unsafe { CStr::from_ptr(raw::tj3GetErrorStr(self.0)) };
        Err(Failed(message.to_string_lossy().into_owned()))
    }
}

impl Drop for Decompressor {
    fn drop(&mut self) {
        // SAFETY: the handle came from tj3Init and is destroyed once.
        unsafe { raw::tj3Destroy(self.0) }
    }
}

/// The widest MCU for each TurboJPEG subsampling code; the scaled crop's
/// left edge must fall on one. Unknown subsampling: the widest there is.
fn mcu_width(subsampling: c_int) -> usize {
    match subsampling as raw::TJSAMP {
        raw::TJSAMP_TJSAMP_422 | raw::TJSAMP_TJSAMP_420 => 16,
        raw::TJSAMP_TJSAMP_411 => 32,
        raw::TJSAMP_TJSAMP_444 | raw::TJSAMP_TJSAMP_GRAY => 8,
        raw::TJSAMP_TJSAMP_440 | raw::TJSAMP_TJSAMP_441 => 8,
        _ => 32,
    }
}

/// The part of the scaled image to decode, in scaled pixels, centred like
/// `shown`: its left edge moved out to the scaled MCU grid, as libjpeg-turbo
/// requires, and the right edge as far.
#[derive(Debug, PartialEq, Eq)]
struct ScaledCrop {
    left: usize,
    top: usize,
    width: usize,
    height: usize,
}

impl ScaledCrop {
    fn new(width: usize, height: usize, denom: usize, mcu_width: usize, shown: Region) -> Self {
        let (scaled_width, scaled_height) = (width.div_ceil(denom), height.div_ceil(denom));
        let grid = (mcu_width / denom).max(1);
        let left = (shown.left as usize / denom / grid * grid).min(scaled_width / 2);
        let top = (shown.top as usize / denom).min(scaled_height / 2);
        Self {
            left,
            top,
            width: scaled_width - 2 * left,
            height: scaled_height - 2 * top,
        }
    }
}

/// The denominator of the smallest of 1/8, 1/4, 1/2 and 1 whose output is
/// still at least `need` times the original in both directions. The
/// in-between factors (3/8…7/8) save no time, since entropy decoding
/// dominates, and alias visibly: on a detailed 4K photo 3/8 was 34 dB from
/// sharp's output, 1/2 is 44 dB.
fn smallest_denominator(width: usize, height: usize, need: f64) -> usize {
    let enough =
        |denom: usize, side: usize| side.div_ceil(denom) as f64 >= (side as f64 * need).ceil();
    [8, 4, 2]
        .into_iter()
        .find(|&denom| enough(denom, width) && enough(denom, height))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::{Region, ScaledCrop, smallest_denominator};

    #[test]
    fn the_smallest_covering_factor_is_chosen() {
        // 20 MP to 1280×720 cover: the height needs 720 / 3391 ≈ 0.21.
        assert_eq!(smallest_denominator(6028, 3391, 720.0 / 3391.0), 4);
        assert_eq!(smallest_denominator(1600, 900, 0.8), 1);
        assert_eq!(smallest_denominator(3840, 2160, 1.0 / 3.0), 2, "never 3/8");
        assert_eq!(smallest_denominator(100, 100, 2.0), 1, "never upscaled");
    }

    #[test]
    fn crops_are_scaled_centred_and_start_on_the_mcu_grid() {
        let shown = |left, top, width, height| Region {
            left,
            top,
            width,
            height,
        };
        // A 4:3 photo at 1/4: 4000×3000 → 1000×750, rows 365.. of 3000 shown.
        assert_eq!(
            ScaledCrop::new(4000, 3000, 4, 16, shown(0, 365, 4000, 2270)),
            ScaledCrop {
                left: 0,
                top: 91,
                width: 1000,
                height: 568
            }
        );
        // A quarter-turned portrait, cropped across: 1/2 of 4:2:0 is an
        // 8-pixel grid, so the left edge moves out from 715 to 712.
        assert_eq!(
            ScaledCrop::new(4032, 3024, 2, 16, shown(1431, 0, 1170, 3024)),
            ScaledCrop {
                left: 712,
                top: 0,
                width: 592,
                height: 1512
            }
        );
        // Nothing to crop.
        assert_eq!(
            ScaledCrop::new(1600, 900, 1, 16, shown(0, 0, 1600, 900)),
            ScaledCrop {
                left: 0,
                top: 0,
                width: 1600,
                height: 900
            }
        );
    }
}
