//! A JPEG's markers and every scan header, read without decoding a pixel:
//! which process it uses, how many scans it has, whether its progression is
//! one a real encoder writes, and how much work its scans ask of a decoder.
//!
//! A progressive decoder walks every block of a component once per scan that
//! names it, however little data the scan carries, so the cost of a JPEG is
//! its scans × blocks, not its size: a 466 KB file whose last scan repeats
//! 400 times costs 40 s. Both are known from the headers alone.

mod progression;

use super::super::Rejection;
use memchr::memchr;
use progression::Progression;

/// What the headers say, and the work they ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JpegStructure {
    pub process: Process,
    /// Bits per sample: 8, or 12 (and 2–16 for lossless).
    pub precision: u8,
    pub width: u32,
    pub height: u32,
    pub components: usize,
    /// Each component's sampling factors (horizontal, vertical), frame order.
    pub sampling: Vec<(u32, u32)>,
    /// Where the EXIF block lies (the payload of the last `Exif` APP1 segment
    /// before the first scan, as image's JPEG decoder takes it).
    pub exif: Option<std::ops::Range<usize>>,
    /// Each component's largest AC quantisation step, over every definition
    /// of its table in the stream; `None` when its table is never defined.
    pub largest_ac_steps: Vec<Option<u16>>,
    pub scans: u32,
    /// Restart interval in MCUs (DRI), 0 when there is none.
    pub restart_interval: u16,
    /// Σ over scans of the blocks each scan walks, each weighted by how much
    /// of every block the scan touches (about 8 ns a unit): see `scan_weight`.
    pub work: u64,
    /// The coefficient buffer a multi-scan decode keeps for the whole image.
    pub coefficient_bytes: u64,
    /// Where each scan lies in the stream and what it sends, in stream order.
    pub scan_spans: Vec<ScanSpan>,
}

/// One scan: from its SOS marker to the marker after its entropy-coded data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSpan {
    pub bytes: std::ops::Range<usize>,
    /// Spectral selection: the first and last coefficient (zig-zag order).
    pub first: u8,
    pub last: u8,
    /// Successive approximation: the bit sent before (0 for a first scan) and now.
    pub high: u8,
    pub low: u8,
    /// The components it names, as indexes into the frame's (an AC scan of
    /// a progressive JPEG names exactly one).
    pub components: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// Sequential DCT (SOF0, SOF1), Huffman or arithmetic (SOF9).
    Sequential,
    /// Progressive DCT (SOF2, SOF10).
    Progressive,
    /// Lossless (SOF3, SOF11).
    Lossless,
}

/// Fixed limits a real encoder never comes near (libjpeg writes 10 scans for
/// a colour progressive JPEG, mozjpeg at most a few more).
pub const MAX_SCANS: u32 = 200;

#[derive(Debug, Clone, Copy)]
struct Component {
    id: u8,
    h: u32,
    v: u32,
    /// Which quantisation table (DQT slot) its coefficients use.
    table: usize,
}

struct Frame {
    process: Process,
    precision: u8,
    width: u32,
    height: u32,
    components: Vec<Component>,
}

impl Frame {
    fn max_sampling(&self) -> (u32, u32) {
        let h = self.components.iter().map(|c| c.h).max().unwrap_or(1);
        let v = self.components.iter().map(|c| c.v).max().unwrap_or(1);
        (h, v)
    }

    /// The 8×8 blocks of one component, as a non-interleaved scan walks them.
    fn blocks(&self, component: &Component) -> u64 {
        let (h_max, v_max) = self.max_sampling();
        let width = (u64::from(self.width) * u64::from(component.h)).div_ceil(u64::from(h_max));
        let height = (u64::from(self.height) * u64::from(component.v)).div_ceil(u64::from(v_max));
        width.div_ceil(8) * height.div_ceil(8)
    }

    /// The blocks an interleaved scan walks: whole MCUs, padding included.
    fn interleaved_blocks(&self, members: &[Component]) -> u64 {
        let (h_max, v_max) = self.max_sampling();
        let mcus = u64::from(self.width).div_ceil(8 * u64::from(h_max))
            * u64::from(self.height).div_ceil(8 * u64::from(v_max));
        mcus * members.iter().map(|c| u64::from(c.h * c.v)).sum::<u64>()
    }
}

fn corrupt(reason: &str) -> Rejection {
    Rejection::undecodable(format!("the JPEG {reason}"))
}

/// Reads the whole marker structure; anything a conforming decoder would
/// have to guess about (bytes between segments, a missing end, a scan that
/// refines what was never sent) is refused here.
pub fn read(bytes: &[u8]) -> Result<JpegStructure, Rejection> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(corrupt("does not start with a start-of-image marker"));
    }
    let mut frame: Option<Frame> = None;
    let mut progression: Option<Progression> = None;
    let mut scans = 0u32;
    let mut work = 0u64;
    let mut restart_interval = 0u16;
    let mut largest_ac_steps = [None; 4];
    let mut exif = None;
    let mut scan_spans = Vec::new();
    let mut at = 2;
    loop {
        let marker_at = at;
        let marker = next_marker(bytes, &mut at)?;
        match marker {
            0xD9 => break,
            0xD8 => return Err(corrupt("has a second start-of-image marker")),
            // Stand-alone markers outside a scan carry nothing.
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let segment = segment(bytes, at)?;
        let payload = at + 2..at + 2 + segment.len();
        at = payload.end;
        match marker {
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if frame.is_some() {
                    return Err(corrupt("has more than one frame header"));
                }
                let read = read_frame(marker, segment)?;
                progression = Some(Progression::new(read.components.len()));
                frame = Some(read);
            }
            0xDB => fold_quantisation_tables(segment, &mut largest_ac_steps),
            0xE1 if scans == 0 && segment.len() > 6 && segment.starts_with(b"Exif\0\0") => {
                exif = Some(payload.start + 6..payload.end);
            }
            0xDD => {
                let value = segment
                    .get(..2)
                    .ok_or_else(|| corrupt("has a short restart-interval segment"))?;
                restart_interval = u16::from_be_bytes([value[0], value[1]]);
            }
            0xDC => {
                return Err(corrupt(
                    "sets its height in a DNL marker, which is not supported",
                ));
            }
            0xDA => {
                let (Some(frame), Some(progression)) = (frame.as_ref(), progression.as_mut())
                else {
                    return Err(corrupt("has a scan before its frame header"));
                };
                scans += 1;
                if scans > MAX_SCANS {
                    return Err(Rejection::TooComplex {
                        reason: format!("the JPEG has more than {MAX_SCANS} scans"),
                    });
                }
                let scan = read_scan(frame, segment)?;
                progression.admit(frame, &scan)?;
                work = work.saturating_add(scan_work(frame, &scan));
                at = skip_entropy_data(bytes, at)?;
                scan_spans.push(ScanSpan {
                    bytes: marker_at..at,
                    first: scan.start,
                    last: scan.end,
                    high: scan.high,
                    low: scan.low,
                    components: scan.members,
                });
            }
            _ => {}
        }
    }
    let frame = frame.ok_or_else(|| corrupt("has no frame header"))?;
    if scans == 0 {
        return Err(corrupt("has no scan"));
    }
    let total_blocks: u64 = frame.components.iter().map(|c| frame.blocks(c)).sum();
    let coefficient_bytes = match frame.process {
        // Sequential and lossless decoders keep a few rows; a progressive one
        // (or a sequential one with a scan per component) all coefficients.
        Process::Sequential if scans == 1 => 0,
        _ => total_blocks * 128,
    };
    Ok(JpegStructure {
        process: frame.process,
        precision: frame.precision,
        width: frame.width,
        height: frame.height,
        components: frame.components.len(),
        sampling: frame.components.iter().map(|c| (c.h, c.v)).collect(),
        exif,
        largest_ac_steps: frame
            .components
            .iter()
            .map(|c| largest_ac_steps.get(c.table).copied().flatten())
            .collect(),
        scans,
        restart_interval,
        work,
        coefficient_bytes,
        scan_spans,
    })
}

/// Folds a DQT segment's tables into each slot's largest AC step: a table
/// redefined between scans counts with its coarsest version. A malformed
/// segment stops the fold (libjpeg refuses it when it decodes).
fn fold_quantisation_tables(segment: &[u8], largest: &mut [Option<u16>; 4]) {
    let mut rest = segment;
    while let Some((&spec, after)) = rest.split_first() {
        let (wide, slot) = (spec >> 4, usize::from(spec & 0x0F));
        let size = if wide == 0 { 64 } else { 128 };
        if wide > 1 || slot > 3 || after.len() < size {
            return;
        }
        let (values, next) = after.split_at(size);
        let step = |k: usize| match wide {
            0 => u16::from(values[k]),
            _ => u16::from_be_bytes([values[2 * k], values[2 * k + 1]]),
        };
        let table_largest = (1..64).map(step).max().unwrap_or(0);
        let slot = &mut largest[slot];
        *slot = Some(slot.unwrap_or(0).max(table_largest));
        rest = next;
    }
}

/// Moves `at` past the next marker and returns it; fill bytes (0xFF) before
/// it are allowed, anything else between segments is not.
fn next_marker(bytes: &[u8], at: &mut usize) -> Result<u8, Rejection> {
    if bytes.get(*at) != Some(&0xFF) {
        return Err(match bytes.get(*at) {
            None => corrupt("ends before its end-of-image marker"),
            Some(_) => corrupt("has bytes outside any segment"),
        });
    }
    while bytes.get(*at) == Some(&0xFF) {
        *at += 1;
    }
    let marker = *bytes
        .get(*at)
        .ok_or_else(|| corrupt("ends before its end-of-image marker"))?;
    *at += 1;
    if marker == 0x00 {
        return Err(corrupt("has a stuffed byte outside a scan"));
    }
    Ok(marker)
}

/// The payload of the length-prefixed segment at `at`.
fn segment(bytes: &[u8], at: usize) -> Result<&[u8], Rejection> {
    let length = bytes
        .get(at..at + 2)
        .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
        .ok_or_else(|| corrupt("ends inside a segment header"))?;
    if length < 2 {
        return Err(corrupt("has a segment shorter than its own length field"));
    }
    bytes
        .get(at + 2..at + length)
        .ok_or_else(|| corrupt("ends inside a segment"))
}

fn read_frame(marker: u8, segment: &[u8]) -> Result<Frame, Rejection> {
    let process = match marker {
        0xC0 | 0xC1 | 0xC9 => Process::Sequential,
        0xC2 | 0xCA => Process::Progressive,
        0xC3 | 0xCB => Process::Lossless,
        _ => return Err(corrupt("is hierarchical, which is not supported")),
    };
    let header = segment
        .get(..6)
        .ok_or_else(|| corrupt("has a short frame header"))?;
    let precision = header[0];
    let height = u32::from(u16::from_be_bytes([header[1], header[2]]));
    let width = u32::from(u16::from_be_bytes([header[3], header[4]]));
    let count = usize::from(header[5]);
    let valid_precision = match process {
        Process::Lossless => (2..=16).contains(&precision),
        _ => matches!(precision, 8 | 12),
    };
    if !valid_precision {
        return Err(corrupt(&format!("has {precision}-bit samples")));
    }
    if width == 0 || height == 0 {
        return Err(Rejection::undecodable("the image has no pixels"));
    }
    if !(1..=4).contains(&count) || segment.len() != 6 + 3 * count {
        return Err(corrupt("has a malformed frame header"));
    }
    let mut components: Vec<Component> = Vec::with_capacity(count);
    for entry in segment[6..].chunks_exact(3) {
        let (h, v) = (u32::from(entry[1] >> 4), u32::from(entry[1] & 0x0F));
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
            return Err(corrupt("has an invalid sampling factor"));
        }
        if components.iter().any(|c| c.id == entry[0]) {
            return Err(corrupt("names a component twice"));
        }
        components.push(Component {
            id: entry[0],
            h,
            v,
            table: usize::from(entry[2]),
        });
    }
    Ok(Frame {
        process,
        precision,
        width,
        height,
        components,
    })
}

struct Scan {
    /// Indexes into the frame's components.
    members: Vec<usize>,
    start: u8,
    end: u8,
    high: u8,
    low: u8,
}

fn read_scan(frame: &Frame, segment: &[u8]) -> Result<Scan, Rejection> {
    let count = usize::from(
        *segment
            .first()
            .ok_or_else(|| corrupt("has an empty scan header"))?,
    );
    if !(1..=4).contains(&count) || segment.len() != 4 + 2 * count {
        return Err(corrupt("has a malformed scan header"));
    }
    let mut members = Vec::with_capacity(count);
    for selector in segment[1..1 + 2 * count].chunks_exact(2) {
        let index = frame
            .components
            .iter()
            .position(|c| c.id == selector[0])
            .ok_or_else(|| corrupt("has a scan naming a component the frame does not have"))?;
        if members.contains(&index) {
            return Err(corrupt("has a scan naming a component twice"));
        }
        members.push(index);
    }
    let tail = &segment[1 + 2 * count..];
    let (start, end, high, low) = (tail[0], tail[1], tail[2] >> 4, tail[2] & 0x0F);
    if members.len() > 1 {
        let units: u32 = members
            .iter()
            .map(|&i| frame.components[i].h * frame.components[i].v)
            .sum();
        if units > 10 {
            return Err(corrupt(
                "has an interleaved scan with more than 10 blocks per MCU",
            ));
        }
    }
    Ok(Scan {
        members,
        start,
        end,
        high,
        low,
    })
}

/// What one scan costs: the blocks it walks, weighted by what it does to
/// each. Measured with libjpeg-turbo on this project's machines (README,
/// "Availability"): walking a block in a sequential, DC or first AC scan
/// costs about 8 ns whatever the band, while a refinement scan re-reads
/// every already-nonzero coefficient of its band, about 55 ns for all 63.
/// The entropy data itself costs on top, bounded by the body limit.
fn scan_work(frame: &Frame, scan: &Scan) -> u64 {
    let members: Vec<Component> = scan.members.iter().map(|&i| frame.components[i]).collect();
    let blocks = if members.len() == 1 {
        frame.blocks(&members[0])
    } else {
        frame.interleaved_blocks(&members)
    };
    blocks.saturating_mul(scan_weight(frame.process, scan))
}

/// Work units per block, one unit being a block walked by a first scan.
fn scan_weight(process: Process, scan: &Scan) -> u64 {
    match process {
        Process::Progressive if scan.high != 0 => 1 + u64::from(scan.end - scan.start + 1) / 10,
        _ => 1,
    }
}

/// Skips a scan's entropy-coded data, which may hold stuffed bytes (0xFF00)
/// and restart markers, up to the marker that ends it.
fn skip_entropy_data(bytes: &[u8], mut at: usize) -> Result<usize, Rejection> {
    loop {
        let offset = memchr(0xFF, &bytes[at.min(bytes.len())..])
            .ok_or_else(|| corrupt("ends before its end-of-image marker"))?;
        at += offset;
        match bytes.get(at + 1) {
            None => return Err(corrupt("ends before its end-of-image marker")),
            Some(0x00 | 0xD0..=0xD7 | 0xFF) => at += 1,
            Some(_) => return Ok(at),
        }
    }
}

#[cfg(test)]
mod tests;
