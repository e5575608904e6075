//! GIF's LZW, decoded straight into the frame's whole index plane.
//!
//! Every dictionary string is a prefix of something already written out:
//! the string a code adds is the previous code's output plus the next byte,
//! which the plane holds side by side. So an entry is only where that run
//! starts and how long it is, and emitting a code is one short copy from
//! earlier in the plane. A photo-like GIF's codes carry one or two bytes
//! each, so the cost per code is what counts: no string is rebuilt through
//! a chain of prefixes, and copies of up to 16 bytes are one load and one
//! store into the plane's slack.

use super::super::structure::gif::SubBlocks;

/// GIF's widest code.
const MAX_CODE_BITS: u32 = 12;
const TABLE_SIZE: usize = 1 << MAX_CODE_BITS;
/// Bytes past a string that a short copy may overwrite.
const SLACK: usize = 16;
/// The plane starts with every byte value once, so a root code is a string
/// of the plane like any other and the loop has one common case.
const ROOTS: usize = 256;

/// A frame's palette indices, decoded.
pub struct IndexPlane {
    buffer: Vec<u8>,
    pixels: usize,
}

impl IndexPlane {
    pub fn indices(&self) -> &[u8] {
        &self.buffer[ROOTS..ROOTS + self.pixels]
    }
}

/// Decodes `data` into `pixels` palette indices, or says why it cannot.
/// `min_code_size` is in 1..=11 (the walk checks).
pub fn decode(data: SubBlocks<'_>, min_code_size: u8, pixels: usize) -> Result<IndexPlane, String> {
    let mut plane = vec![0u8; ROOTS + pixels + SLACK];
    if u32::try_from(plane.len()).is_err() {
        return Err("the GIF's first frame is too large".into());
    }
    for (slot, value) in plane.iter_mut().zip(0..=255) {
        *slot = value;
    }
    let wanted = ROOTS + pixels;
    let clear = 1u32 << min_code_size;
    let end = clear + 1;
    let mut bits = Bits::new(data);
    // Each code's string: where it starts in the plane, and its length.
    let mut table = [Entry::default(); TABLE_SIZE];
    for (root, entry) in table.iter_mut().take(clear as usize).enumerate() {
        // Code sizes above 8 have roots no byte holds: they keep the low bits.
        *entry = Entry {
            start: root as u32 & 0xFF,
            length: 1,
        };
    }
    let mut width = u32::from(min_code_size) + 1;
    let mut next = clear + 2;
    // The last code's string; length 0 right after a clear code.
    let mut previous = Entry::default();
    let mut written = ROOTS;
    while written < wanted {
        let code = bits.read(width).ok_or("the GIF's first frame ends early")?;
        let string = if code < next && code.wrapping_sub(clear) >= 2 {
            let string = table[code as usize];
            copy_earlier(
                &mut plane,
                string.start as usize,
                written,
                string.length as usize,
            );
            string
        } else if code == clear {
            width = u32::from(min_code_size) + 1;
            next = clear + 2;
            previous = Entry::default();
            continue;
        } else if code == next && previous.length > 0 {
            // The string being defined: the previous one and its own first byte.
            let (start, length) = (previous.start as usize, previous.length as usize);
            copy_earlier(&mut plane, start, written, length);
            let first = plane[start];
            if let Some(last) = plane.get_mut(written + length) {
                *last = first;
            }
            Entry {
                start: previous.start,
                length: previous.length + 1,
            }
        } else if code == end {
            return Err("the GIF's first frame ends early".into());
        } else {
            return Err(format!(
                "the GIF's first frame has an undefined code {code}"
            ));
        };
        if previous.length > 0 && (next as usize) < TABLE_SIZE {
            table[next as usize] = Entry {
                start: previous.start,
                length: previous.length + 1,
            };
            next += 1;
            if next == 1 << width && width < MAX_CODE_BITS {
                width += 1;
            }
        }
        previous = Entry {
            start: written as u32,
            length: string.length,
        };
        written += string.length as usize;
    }
    Ok(IndexPlane {
        buffer: plane,
        pixels,
    })
}

#[derive(Clone, Copy, Default)]
struct Entry {
    start: u32,
    length: u32,
}

/// Copies `length` bytes from `from` to `to` (`from + length <= to`),
/// clipped to the plane and its slack.
#[inline(always)]
fn copy_earlier(plane: &mut [u8], from: usize, to: usize, length: usize) {
    if length <= SLACK && to + SLACK <= plane.len() {
        // Reads past the string may reach bytes at `to` and beyond: they are
        // written over before anything reads them.
        let chunk: [u8; SLACK] = plane[from..from + SLACK].try_into().expect("16 bytes");
        plane[to..to + SLACK].copy_from_slice(&chunk);
    } else {
        let length = length.min(plane.len() - to);
        plane.copy_within(from..from + length, to);
    }
}

/// Codes read least significant bit first across the data's sub-blocks.
struct Bits<'a> {
    sub_blocks: SubBlocks<'a>,
    block: &'a [u8],
    buffer: u64,
    count: u32,
}

impl<'a> Bits<'a> {
    fn new(sub_blocks: SubBlocks<'a>) -> Self {
        Bits {
            sub_blocks,
            block: &[],
            buffer: 0,
            count: 0,
        }
    }

    /// The next `width`-bit code, or `None` when the data runs out first.
    #[inline(always)]
    fn read(&mut self, width: u32) -> Option<u32> {
        if self.count < width {
            self.refill();
            if self.count < width {
                return None;
            }
        }
        let code = (self.buffer & ((1 << width) - 1)) as u32;
        self.buffer >>= width;
        self.count -= width;
        Some(code)
    }

    fn refill(&mut self) {
        while self.count <= 56 {
            if let Some(word) = self.block.first_chunk::<8>() {
                // As many whole bytes as the buffer has room for, at once.
                let taken = (63 - self.count) / 8;
                self.buffer |= u64::from_le_bytes(*word) << self.count
                    & !(u64::MAX << (self.count + taken * 8));
                self.count += taken * 8;
                self.block = &self.block[taken as usize..];
                return;
            }
            match self.block.split_first() {
                Some((&byte, rest)) => {
                    self.buffer |= u64::from(byte) << self.count;
                    self.count += 8;
                    self.block = rest;
                }
                None => match self.sub_blocks.next() {
                    Some(block) => self.block = block,
                    None => return,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode;
    use crate::pipeline::structure::gif::read_first_frame;
    use gif::{Encoder, Frame};

    /// A one-frame GIF of `indices`, encoded by gif.
    fn encoded(width: u16, height: u16, indices: &[u8], palette_bits: u32) -> Vec<u8> {
        let palette: Vec<u8> = (0..3 << palette_bits).map(|i| i as u8).collect();
        let mut bytes = Vec::new();
        let mut encoder = Encoder::new(&mut bytes, width, height, &palette).unwrap();
        let frame = Frame {
            width,
            height,
            buffer: indices.to_vec().into(),
            ..Frame::default()
        };
        encoder.write_frame(&frame).unwrap();
        drop(encoder);
        bytes
    }

    /// Our decoder against gif's encoder on one frame of `indices`.
    fn round_trip(width: u16, height: u16, indices: &[u8], palette_bits: u32) {
        let bytes = encoded(width, height, indices, palette_bits);
        let (_, _, first) = read_first_frame(&bytes).unwrap();
        let plane = decode(first.data(&bytes), first.min_code_size, indices.len()).unwrap();
        assert_eq!(plane.indices(), indices, "{width}×{height}");
    }

    #[test]
    fn matches_what_was_encoded() {
        // Noise (short strings, a full table and clears), flat runs (long
        // strings), repeats (the code being defined), and a 2-colour frame
        // (the smallest code size).
        let mut seed = 7u32;
        let noise: Vec<u8> = (0..300 * 200)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (seed >> 24) as u8
            })
            .collect();
        round_trip(300, 200, &noise, 8);
        round_trip(300, 200, &vec![9u8; 300 * 200], 8);
        let stripes: Vec<u8> = (0..257 * 31).map(|i| (i % 5 + i / 1000) as u8).collect();
        round_trip(257, 31, &stripes, 4);
        let two: Vec<u8> = (0..64 * 64).map(|i| ((i / 3) % 2) as u8).collect();
        round_trip(64, 64, &two, 1);
    }

    #[test]
    fn refuses_truncated_and_undefined_codes() {
        let indices: Vec<u8> = (0..100 * 100).map(|i| (i % 251) as u8).collect();
        let bytes = encoded(100, 100, &indices, 8);
        let (_, _, first) = read_first_frame(&bytes).unwrap();
        // More pixels than the data holds.
        assert!(decode(first.data(&bytes), first.min_code_size, 100 * 101).is_err());
        // A code beyond the table: the first code after the clear is 511.
        let mut damaged = bytes.clone();
        let data_start = first.data.start + 1;
        damaged[data_start] = 0xFF;
        damaged[data_start + 1] = 0xFF;
        let (_, _, first) = read_first_frame(&damaged).unwrap();
        assert!(decode(first.data(&damaged), first.min_code_size, 100 * 100).is_err());
    }
}
