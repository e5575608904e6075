//! Huffman decoding of a sequential JPEG scan, in place of libjpeg-turbo's
//! `decode_mcu` (`jpeg_scaled.c` plugs it in; everything after the
//! coefficients stays libjpeg-turbo's). libjpeg-turbo looks up 8 bits for the
//! code, then reads the value's bits and sign-extends them in separate steps,
//! filling its bit buffer a byte at a time; and it takes its slow path for
//! every MCU of a JPEG with restart markers. Here one lookup of the next
//! `FAST_BITS` bits gives the run, the signed value and the bits taken, for
//! two symbols when both fit (`table::Fast`); the buffer refills eight bytes
//! at a time where none of them is 0xFF (`bits`); and restart markers cost
//! nothing between them.
//!
//! The coefficients are libjpeg-turbo's, and so are the verdicts as the
//! decode runs them (warnings are errors): data that runs into a marker or
//! the end, or a restart marker missing or out of order, is refused. Where
//! libjpeg-turbo's own verdict depends on which of its paths an MCU took, this
//! one takes the lenient side: a bad code is a zero (its fast path), and up
//! to 7 stray bytes before a marker pass (its bit buffer may hold them).

mod bits;
mod table;
#[cfg(test)]
pub(crate) mod tests;

use bits::Bits;
use std::ffi::{CStr, c_char, c_void};
pub use table::HuffmanSpec;
use table::{FAST_BITS, FAST_MASK, Fast, Table, extend};

/// Zig-zag position → natural position; a run past the end (corrupt data)
/// lands on 63, as in libjpeg, and an end of block (`EOB_ADVANCE`) too.
const NATURAL: [u8; 128] = {
    const ZIGZAG: [u8; 64] = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27,
        20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
        58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    ];
    let mut natural = [63u8; 128];
    let mut k = 0;
    while k < 64 {
        natural[k] = ZIGZAG[k];
        k += 1;
    }
    natural
};

/// Stray bytes that pass before a restart marker or after a scan's last
/// MCU (see `ScanDecoder::position`).
const MAX_STRAY_BYTES: usize = 7;

/// Which tables and DC predictor each block of the MCU uses.
#[repr(C)]
pub struct ScanLayout {
    pub blocks: u32,
    /// Per block: the component (its index in the scan), DC and AC table.
    pub component: [u8; 10],
    pub dc_table: [u8; 10],
    pub ac_table: [u8; 10],
    pub restart_interval: u32,
    /// MCUs in the scan.
    pub mcus: u32,
    /// The four DC then the four AC tables; null where the scan uses none.
    pub tables: [*const HuffmanSpec; 8],
}

/// One scan's decoding state, between libjpeg's calls for each MCU.
pub struct ScanDecoder<'a> {
    bits: Bits<'a>,
    tables: Vec<Option<Table>>,
    /// Per block: DC table, AC table, component.
    blocks: Vec<(usize, usize, usize)>,
    last_dc: [i32; 4],
    restart_interval: u32,
    restarts_to_go: u32,
    next_restart: u8,
    mcus_to_go: u32,
    /// Where the coefficients of a block libjpeg discards go.
    scratch: [i16; 64],
}

impl<'a> ScanDecoder<'a> {
    /// # Safety
    /// The layout's non-null table pointers point to live specs.
    pub unsafe fn new(layout: &ScanLayout, data: &'a [u8]) -> Result<Self, &'static CStr> {
        let mut tables = Vec::with_capacity(8);
        for (index, &spec) in layout.tables.iter().enumerate() {
            // SAFETY: the caller's promise.
            let spec = unsafe { spec.as_ref() };
            tables.push(spec.map(|spec| Table::new(spec, index < 4)).transpose()?);
        }
        let count = layout.blocks as usize;
        if count > 10 {
            return Err(c"the scan's MCU is larger than JPEG allows");
        }
        let mut blocks = Vec::with_capacity(count);
        for block in 0..count {
            let (dc, ac) = (
                usize::from(layout.dc_table[block] & 3),
                4 + usize::from(layout.ac_table[block] & 3),
            );
            let component = usize::from(layout.component[block]);
            if tables[dc].is_none() || tables[ac].is_none() || component >= 4 {
                return Err(c"the scan uses a Huffman table it did not define");
            }
            blocks.push((dc, ac, component));
        }
        Ok(Self {
            bits: Bits::new(data),
            tables,
            blocks,
            last_dc: [0; 4],
            restart_interval: layout.restart_interval,
            restarts_to_go: layout.restart_interval,
            next_restart: 0,
            mcus_to_go: layout.mcus,
            scratch: [0; 64],
        })
    }

    /// Blocks in an MCU.
    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Where libjpeg's marker reader goes on: past the bytes read so far.
    /// Once the last MCU is decoded, up to 7 stray bytes before the next
    /// marker are passed over: libjpeg lets through those its bit buffer had
    /// already taken in (at most 7, fewer or none depending on how it
    /// happened to fill), and more it reports as corrupt data.
    pub fn position(&self) -> usize {
        let bits = &self.bits;
        if self.mcus_to_go > 0 {
            return bits.at;
        }
        let fills = bits
            .next_marker()
            .map_or(bits.data.len(), |(fills, _)| fills);
        if bits.stray_bytes_before(fills) <= MAX_STRAY_BYTES {
            fills
        } else {
            bits.at
        }
    }

    /// Decodes one MCU into `blocks` (zeroed by libjpeg), or discards it.
    pub fn decode_mcu(
        &mut self,
        mut blocks: Option<&mut [&mut [i16; 64]]>,
    ) -> Result<(), &'static CStr> {
        if self.restart_interval != 0 {
            if self.restarts_to_go == 0 {
                self.restart()?;
            }
            self.restarts_to_go -= 1;
        }
        self.mcus_to_go = self.mcus_to_go.saturating_sub(1);
        // Decoded with copies in registers, stored back once.
        let (mut bits, mut last_dc) = (self.bits, self.last_dc);
        for (index, &(dc, ac, component)) in self.blocks.iter().enumerate() {
            let block = match blocks.as_deref_mut() {
                Some(blocks) => &mut *blocks[index],
                None => &mut self.scratch,
            };
            let (Some(dc), Some(ac)) = (&self.tables[dc], &self.tables[ac]) else {
                unreachable!("checked when the scan started");
            };
            decode_block(&mut bits, dc, ac, &mut last_dc[component], block);
        }
        (self.bits, self.last_dc) = (bits, last_dc);
        if bits.count < bits.padding {
            return Err(c"Corrupt JPEG data: premature end of data segment");
        }
        Ok(())
    }

    /// Between restart intervals: the next RSTn in turn, after at most
    /// `MAX_STRAY_BYTES` stray bytes.
    fn restart(&mut self) -> Result<(), &'static CStr> {
        let bits = &mut self.bits;
        let (_, code) = bits
            .next_marker()
            .filter(|&(fills, _)| bits.stray_bytes_before(fills) <= MAX_STRAY_BYTES)
            .ok_or(c"Corrupt JPEG data: extraneous bytes before a restart marker")?;
        if bits.data[code] != 0xD0 + self.next_restart {
            return Err(c"Corrupt JPEG data: a restart marker is missing or out of order");
        }
        *bits = Bits::new(bits.data);
        bits.at = code + 1;
        self.next_restart = (self.next_restart + 1) & 7;
        self.last_dc = [0; 4];
        self.restarts_to_go = self.restart_interval;
        Ok(())
    }
}

/// One block: the DC difference, then the AC run/value pairs up to an end
/// of block or the 63rd coefficient.
#[inline(always)]
fn decode_block(bits: &mut Bits, dc: &Table, ac: &Table, last_dc: &mut i32, block: &mut [i16; 64]) {
    bits.refill();
    let entry = Fast(dc.fast[bits.peek(FAST_BITS) & FAST_MASK]);
    let difference = if entry.bits() != 0 {
        bits.consume(entry.bits());
        (entry.0 >> 32) as i16 as i32
    } else {
        let size = u32::from(bits.symbol(dc, entry));
        let raw = bits.take(size);
        extend(raw, size)
    };
    *last_dc = last_dc.wrapping_add(difference);
    block[0] = *last_dc as i16;
    // A refill leaves ≥ 56 bits; a whole entry takes ≤ FAST_BITS, so three
    // whole entries, or two and one symbol of any length (≤ 17 + 15 bits),
    // follow it.
    let mut k = 1usize;
    'block: loop {
        bits.refill();
        for _ in 0..3 {
            let entry = Fast(ac.fast[bits.peek(FAST_BITS) & FAST_MASK]);
            if entry.bits() != 0 {
                k += entry.advance() as usize;
                block[usize::from(NATURAL[(k - 1) & 127])] = (entry.0 >> 32) as i16;
                if k >= 64 {
                    // The second symbol, if any, is the next block's.
                    bits.consume(entry.first_bits());
                    break 'block;
                }
                bits.consume(entry.bits());
                k += (entry.0 >> 24 & 0xFF) as usize;
                block[usize::from(NATURAL[(k - 1) & 127])] = (entry.0 >> 48) as i16;
                if k >= 64 {
                    break 'block;
                }
            } else {
                let symbol = bits.symbol(ac, entry);
                let (run, size) = (usize::from(symbol >> 4), u32::from(symbol & 15));
                if size != 0 {
                    let raw = bits.take(size);
                    block[usize::from(NATURAL[(k + run) & 127])] = extend(raw, size) as i16;
                    k += run + 1;
                } else if run == 15 {
                    k += 16;
                } else {
                    break 'block;
                }
                if k >= 64 {
                    break 'block;
                }
                continue 'block;
            }
        }
    }
}

/// `ff_entropy_hooks` in `jpeg_scaled.c`: our entropy decoder
/// (`jpeg_entropy`), which libjpeg-turbo calls for each MCU of a sequential
/// Huffman scan.
#[repr(C)]
pub struct EntropyHooks {
    start: unsafe extern "C" fn(
        *const ScanLayout,
        *const u8,
        usize,
        *mut *const c_char,
    ) -> *mut c_void,
    decode_mcu: unsafe extern "C" fn(*mut c_void, *mut *mut [i16; 64], *mut usize) -> *const c_char,
    finish: unsafe extern "C" fn(*mut c_void),
}

pub static ENTROPY_HOOKS: EntropyHooks = EntropyHooks {
    start: start_scan,
    decode_mcu,
    finish: finish_scan,
};

/// # Safety
/// `layout` is valid, its tables too, for this call; `data` is valid for
/// `length` bytes until `finish_scan`; `error` is writable.
unsafe extern "C" fn start_scan(
    layout: *const ScanLayout,
    data: *const u8,
    length: usize,
    error: *mut *const c_char,
) -> *mut c_void {
    // SAFETY: the caller's promises.
    let (layout, data) = unsafe { (&*layout, std::slice::from_raw_parts(data, length)) };
    // SAFETY: as above, for the tables.
    match unsafe { ScanDecoder::new(layout, data) } {
        Ok(decoder) => Box::into_raw(Box::new(decoder)).cast(),
        Err(message) => {
            // SAFETY: writable, the caller's promise.
            unsafe { *error = message.as_ptr() };
            std::ptr::null_mut()
        }
    }
}

/// # Safety
/// `decoder` came from `start_scan` and is not finished; `blocks` is null
/// or holds the MCU's block pointers, each to a distinct writable block.
unsafe extern "C" fn decode_mcu(
    decoder: *mut c_void,
    blocks: *mut *mut [i16; 64],
    position: *mut usize,
) -> *const c_char {
    // SAFETY: the caller's promises.
    let decoder = unsafe { &mut *decoder.cast::<ScanDecoder<'static>>() };
    let blocks = (!blocks.is_null()).then(|| {
        // SAFETY: non-null pointers to distinct blocks, one per block of the MCU.
        unsafe { std::slice::from_raw_parts_mut(blocks.cast::<&mut [i16; 64]>(), decoder.blocks()) }
    });
    match decoder.decode_mcu(blocks) {
        Ok(()) => {
            // SAFETY: writable, the caller's promise.
            unsafe { *position = decoder.position() };
            std::ptr::null()
        }
        Err(message) => message.as_ptr(),
    }
}

/// # Safety
/// `decoder` came from `start_scan` and is finished once.
unsafe extern "C" fn finish_scan(decoder: *mut c_void) {
    // SAFETY: the caller's promise.
    drop(unsafe { Box::from_raw(decoder.cast::<ScanDecoder<'static>>()) });
}
