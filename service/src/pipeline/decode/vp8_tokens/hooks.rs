//! The C driver's side (`webp_frame.c`): a table of entry points, each
//! behind its safety contract, and the choice of the lzcnt/BMI2 build.

use super::modes::ModeDecoder;
use super::{EdgeContext, FrameLayout, Macroblock, TokenDecoder};
use std::ffi::c_void;

/// `ff_vp8_hooks` in `webp_frame.c`.
#[repr(C)]
pub struct TokenHooks {
    start: unsafe extern "C" fn(*const FrameLayout) -> *mut c_void,
    decode_mb: unsafe extern "C" fn(*mut c_void, u32, *mut Macroblock, *mut i32) -> i32,
    parse_modes: unsafe extern "C" fn(*mut c_void, *mut u8, *mut u8, *mut u8, u32) -> i32,
    finish: unsafe extern "C" fn(*mut c_void),
}

pub static TOKEN_HOOKS: TokenHooks = TokenHooks {
    start: start_frame,
    decode_mb,
    parse_modes,
    finish: finish_frame,
};

/// # Safety
/// As `TokenDecoder::new`, for as long as the decoder lives.
unsafe extern "C" fn start_frame(layout: *const FrameLayout) -> *mut c_void {
    // SAFETY: the caller's promise.
    let decoder = unsafe { TokenDecoder::new(&*layout) };
    Box::into_raw(Box::new(decoder)).cast()
}

/// # Safety
/// `decoder` came from `start_frame` and is not finished; `mb`'s pointers
/// are valid, distinct and writable; `eof` is writable.
unsafe extern "C" fn decode_mb(
    decoder: *mut c_void,
    part: u32,
    mb: *mut Macroblock,
    eof: *mut i32,
) -> i32 {
    // SAFETY: the caller's promises.
    let (decoder, mb) = unsafe { (&mut *decoder.cast::<TokenDecoder<'static>>(), &mut *mb) };
    // SAFETY: as above; `top` and `left` are different macroblocks' contexts.
    let (top, left, coeffs) = unsafe { (&mut *mb.top, &mut *mb.left, &mut *mb.coeffs) };
    let part = part as usize;
    #[cfg(target_arch = "x86_64")]
    let (all_zero, at_end) = if decoder.bmi {
        // SAFETY: the CPU has them (`has_bmi`).
        unsafe { decode_with_bmi(decoder, part, mb, top, left, coeffs) }
    } else {
        decoder.decode::<false>(part, mb, top, left, coeffs)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let (all_zero, at_end) = decoder.decode::<false>(part, mb, top, left, coeffs);

    // SAFETY: writable, the caller's promise.
    unsafe { *eof = i32::from(at_end) };
    i32::from(all_zero)
}

/// libwebp's `VP8ParseIntraModeRow`: one row's macroblock headers; 0 once
/// the first partition ran past its end.
///
/// # Safety
/// `decoder` came from `start_frame` and is not finished; `top` holds
/// `4 * width` bytes, `left` 4, and `blocks` is libwebp's row of `width`
/// `VP8MBData`.
unsafe extern "C" fn parse_modes(
    decoder: *mut c_void,
    top: *mut u8,
    left: *mut u8,
    blocks: *mut u8,
    width: u32,
) -> i32 {
    // SAFETY: the caller's promises.
    let (decoder, top, left) = unsafe {
        (
            &mut *decoder.cast::<TokenDecoder<'static>>(),
            std::slice::from_raw_parts_mut(top, 4 * width as usize),
            &mut *left.cast::<[u8; 4]>(),
        )
    };
    #[cfg(target_arch = "x86_64")]
    if decoder.bmi {
        // SAFETY: the CPU has them (`has_bmi`); the caller's promises.
        return i32::from(unsafe { modes_with_bmi(&mut decoder.modes, top, left, blocks) });
    }
    // SAFETY: the caller's promises.
    i32::from(unsafe { decoder.modes.row::<false>(top, left, blocks) })
}

/// `ModeDecoder::row` with lzcnt and BMI2.
///
/// # Safety
/// The CPU has them; as `ModeDecoder::row`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "lzcnt,bmi1,bmi2")]
unsafe fn modes_with_bmi(
    modes: &mut ModeDecoder,
    top: &mut [u8],
    left: &mut [u8; 4],
    blocks: *mut u8,
) -> bool {
    // SAFETY: the caller's promises.
    unsafe { modes.row::<true>(top, left, blocks) }
}

/// `decode` where one instruction counts leading zeros and shifts need no
/// count register (lzcnt, BMI2: every x86-64 since 2013).
///
/// # Safety
/// The CPU has lzcnt, BMI1 and BMI2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "lzcnt,bmi1,bmi2")]
unsafe fn decode_with_bmi(
    decoder: &mut TokenDecoder,
    part: usize,
    mb: &mut Macroblock,
    top: &mut EdgeContext,
    left: &mut EdgeContext,
    coeffs: &mut [i16; 384],
) -> (bool, bool) {
    decoder.decode::<true>(part, mb, top, left, coeffs)
}

#[cfg(test)]
thread_local! {
    /// Tests hold the generic decoder to the BMI one on this thread.
    pub(super) static GENERIC_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

pub(super) fn has_bmi() -> bool {
    #[cfg(test)]
    if GENERIC_ONLY.get() {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    return std::is_x86_feature_detected!("lzcnt") && std::is_x86_feature_detected!("bmi2");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// # Safety
/// `decoder` came from `start_frame` and is finished once.
unsafe extern "C" fn finish_frame(decoder: *mut c_void) {
    // SAFETY: the caller's promise.
    drop(unsafe { Box::from_raw(decoder.cast::<TokenDecoder<'static>>()) });
}
