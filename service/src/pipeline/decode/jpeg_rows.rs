//! Where libjpeg-turbo's rows go (`jpeg_scaled.c` asks for each row's
//! place): the whole crop in one plane, or a `RowResizer` that resizes them
//! as they come.

use super::super::resize::RowResizer;
use std::ffi::{c_uint, c_void};

/// Where the decoder writes the crop's rows, in order.
///
/// # Safety
/// `row(index)` returns room for one row of the crop (`width × channels`
/// bytes) that stays valid and unaliased until the next call.
pub unsafe trait Rows {
    fn row(&mut self, index: usize) -> *mut u8;
}

/// `ff_request.row` for a `R`.
///
/// # Safety
/// `sink` is the `&mut R` the request was made with.
pub unsafe extern "C" fn row_of<R: Rows>(sink: *mut c_void, index: c_uint) -> *mut u8 {
    // SAFETY: the caller's contract; no other reference to the sink is live
    // while the decoder runs.
    unsafe { &mut *sink.cast::<R>() }.row(index as usize)
}

/// The whole crop in one plane.
pub struct Plane {
    pixels: Vec<u8>,
    pitch: usize,
    rows: usize,
}

impl Plane {
    pub fn new(width: usize, height: usize, channels: usize) -> Self {
        let pitch = width * channels;
        // Not zeroed first: the decoder writes every byte, and a failed
        // decode's buffer is dropped unread.
        Self {
            pixels: Vec::with_capacity(pitch * height),
            pitch,
            rows: height,
        }
    }

    /// The pixels, once the decoder has written every row.
    pub fn into_pixels(mut self) -> Vec<u8> {
        // SAFETY: a successful decode wrote all `rows` rows of `pitch`
        // bytes (`jpeg_scaled.c` checks the crop and the channel count
        // against libjpeg's own before the first row).
        unsafe { self.pixels.set_len(self.pitch * self.rows) };
        self.pixels
    }
}

// SAFETY: row `index < rows` lies inside the reserved capacity; the decoder
// asks only for the crop's rows.
unsafe impl Rows for Plane {
    fn row(&mut self, index: usize) -> *mut u8 {
        debug_assert!(index < self.rows);
        // SAFETY: within the allocation (above).
        unsafe { self.pixels.as_mut_ptr().add(index * self.pitch) }
    }
}

// SAFETY: `RowResizer::row` hands out a slot of one whole source row.
unsafe impl Rows for RowResizer {
    fn row(&mut self, index: usize) -> *mut u8 {
        RowResizer::row(self, index).as_mut_ptr()
    }
}
