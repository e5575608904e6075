//! The first partition's macroblock headers (RFC 6386 §19.3: segment, skip
//! flag, luma and chroma prediction modes), decoded in place of libwebp's
//! `VP8ParseIntraModeRow` with the token decoder's boolean decoder: the
//! same decisions in the same order, into libwebp's own `VP8MBData`.

use super::reader::BoolReader;

/// Prediction modes, libwebp's numbering (4×4 and 16×16 share it).
const DC: u8 = 0;
const TM: u8 = 1;
const VE: u8 = 2;
const HE: u8 = 3;
const RD: u8 = 4;
const VR: u8 = 5;
const LD: u8 = 6;
const VL: u8 = 7;
const HD: u8 = 8;
const HU: u8 = 9;

/// `ff_vp8_mode_layout` in `webp_frame.c`: where a macroblock's header
/// goes in libwebp's `VP8MBData`, and the frame's header probabilities.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ModeLayout {
    block_size: u32,
    at_is_i4x4: u32,
    at_imodes: u32,
    at_uvmode: u32,
    at_skip: u32,
    at_segment: u32,
    update_map: u8,
    segment_probas: [u8; 3],
    use_skip_proba: u8,
    skip_proba: u8,
}

pub struct ModeDecoder<'a> {
    reader: BoolReader<'a>,
    layout: ModeLayout,
}

impl<'a> ModeDecoder<'a> {
    pub fn new(reader: BoolReader<'a>, layout: ModeLayout) -> Self {
        ModeDecoder { reader, layout }
    }

    /// One row of macroblock headers; false once the partition ran past its
    /// end (libwebp's verdict, after the row).
    ///
    /// # Safety
    /// `blocks` points to `top.len() / 4` of libwebp's `VP8MBData`, laid
    /// out as `ModeLayout` says.
    #[inline(always)]
    pub unsafe fn row<const LZCNT: bool>(
        &mut self,
        top: &mut [u8],
        left: &mut [u8; 4],
        blocks: *mut u8,
    ) -> bool {
        let mut reader = self.reader;
        let layout = &self.layout;
        for (index, top) in top.chunks_exact_mut(4).enumerate() {
            // SAFETY: within the caller's row of blocks.
            let block = unsafe { blocks.add(index * layout.block_size as usize) };
            let set = |at: u32, value: u8| unsafe { *block.add(at as usize) = value };
            let [s0, s1, s2] = layout.segment_probas;
            let segment = if layout.update_map == 0 {
                0
            } else if !reader.bit::<LZCNT>(s0) {
                u8::from(reader.bit::<LZCNT>(s1))
            } else {
                2 + u8::from(reader.bit::<LZCNT>(s2))
            };
            set(layout.at_segment, segment);
            if layout.use_skip_proba != 0 {
                set(
                    layout.at_skip,
                    u8::from(reader.bit::<LZCNT>(layout.skip_proba)),
                );
            }
            let is_i4x4 = !reader.bit::<LZCNT>(145);
            set(layout.at_is_i4x4, u8::from(is_i4x4));
            if !is_i4x4 {
                let mode = if reader.bit::<LZCNT>(156) {
                    if reader.bit::<LZCNT>(128) { TM } else { HE }
                } else if reader.bit::<LZCNT>(163) {
                    VE
                } else {
                    DC
                };
                set(layout.at_imodes, mode);
                top.fill(mode);
                left.fill(mode);
            } else {
                for (y, left) in left.iter_mut().enumerate() {
                    let mut mode = *left;
                    for (x, top) in top.iter_mut().enumerate() {
                        let probas =
                            &BLOCK_MODE_PROBAS[usize::from(*top).min(9)][usize::from(mode).min(9)];
                        mode = block_mode::<LZCNT>(&mut reader, probas);
                        *top = mode;
                        set(layout.at_imodes + (4 * y + x) as u32, mode);
                    }
                    *left = mode;
                }
            }
            let chroma = if !reader.bit::<LZCNT>(142) {
                DC
            } else if !reader.bit::<LZCNT>(114) {
                VE
            } else if reader.bit::<LZCNT>(183) {
                TM
            } else {
                HE
            };
            set(layout.at_uvmode, chroma);
        }
        self.reader = reader;
        !reader.at_end()
    }
}

/// A 4×4 block's mode (RFC 6386 §11.2's tree).
#[inline(always)]
fn block_mode<const LZCNT: bool>(reader: &mut BoolReader, p: &[u8; 9]) -> u8 {
    let mut bit = |prob| reader.bit::<LZCNT>(prob);
    if !bit(p[0]) {
        DC
    } else if !bit(p[1]) {
        TM
    } else if !bit(p[2]) {
        VE
    } else if !bit(p[3]) {
        if !bit(p[4]) {
            HE
        } else if !bit(p[5]) {
            RD
        } else {
            VR
        }
    } else if !bit(p[6]) {
        LD
    } else if !bit(p[7]) {
        VL
    } else if !bit(p[8]) {
        HD
    } else {
        HU
    }
}

/// Probabilities of a 4×4 block's mode, by the modes above and to the
/// left of it (RFC 6386 §11.5, `kf_bmode_probs`).
const BLOCK_MODE_PROBAS: [[[u8; 9]; 10]; 10] = [
    [
        [231, 120, 48, 89, 115, 113, 120, 152, 112],
        [152, 179, 64, 126, 170, 118, 46, 70, 95],
        [175, 69, 143, 80, 85, 82, 72, 155, 103],
        [56, 58, 10, 171, 218, 189, 17, 13, 152],
        [114, 26, 17, 163, 44, 195, 21, 10, 173],
        [121, 24, 80, 195, 26, 62, 44, 64, 85],
        [144, 71, 10, 38, 171, 213, 144, 34, 26],
        [170, 46, 55, 19, 136, 160, 33, 206, 71],
        [63, 20, 8, 114, 114, 208, 12, 9, 226],
        [81, 40, 11, 96, 182, 84, 29, 16, 36],
    ],
    [
        [134, 183, 89, 137, 98, 101, 106, 165, 148],
        [72, 187, 100, 130, 157, 111, 32, 75, 80],
        [66, 102, 167, 99, 74, 62, 40, 234, 128],
        [41, 53, 9, 178, 241, 141, 26, 8, 107],
        [74, 43, 26, 146, 73, 166, 49, 23, 157],
        [65, 38, 105, 160, 51, 52, 31, 115, 128],
        [104, 79, 12, 27, 217, 255, 87, 17, 7],
        [87, 68, 71, 44, 114, 51, 15, 186, 23],
        [47, 41, 14, 110, 182, 183, 21, 17, 194],
        [66, 45, 25, 102, 197, 189, 23, 18, 22],
    ],
    [
        [88, 88, 147, 150, 42, 46, 45, 196, 205],
        [43, 97, 183, 117, 85, 38, 35, 179, 61],
        [39, 53, 200, 87, 26, 21, 43, 232, 171],
        [56, 34, 51, 104, 114, 102, 29, 93, 77],
        [39, 28, 85, 171, 58, 165, 90, 98, 64],
        [34, 22, 116, 206, 23, 34, 43, 166, 73],
        [107, 54, 32, 26, 51, 1, 81, 43, 31],
        [68, 25, 106, 22, 64, 171, 36, 225, 114],
        [34, 19, 21, 102, 132, 188, 16, 76, 124],
        [62, 18, 78, 95, 85, 57, 50, 48, 51],
    ],
    [
        [193, 101, 35, 159, 215, 111, 89, 46, 111],
        [60, 148, 31, 172, 219, 228, 21, 18, 111],
        [112, 113, 77, 85, 179, 255, 38, 120, 114],
        [40, 42, 1, 196, 245, 209, 10, 25, 109],
        [88, 43, 29, 140, 166, 213, 37, 43, 154],
        [61, 63, 30, 155, 67, 45, 68, 1, 209],
        [100, 80, 8, 43, 154, 1, 51, 26, 71],
        [142, 78, 78, 16, 255, 128, 34, 197, 171],
        [41, 40, 5, 102, 211, 183, 4, 1, 221],
        [51, 50, 17, 168, 209, 192, 23, 25, 82],
    ],
    [
        [138, 31, 36, 171, 27, 166, 38, 44, 229],
        [67, 87, 58, 169, 82, 115, 26, 59, 179],
        [63, 59, 90, 180, 59, 166, 93, 73, 154],
        [40, 40, 21, 116, 143, 209, 34, 39, 175],
        [47, 15, 16, 183, 34, 223, 49, 45, 183],
        [46, 17, 33, 183, 6, 98, 15, 32, 183],
        [57, 46, 22, 24, 128, 1, 54, 17, 37],
        [65, 32, 73, 115, 28, 128, 23, 128, 205],
        [40, 3, 9, 115, 51, 192, 18, 6, 223],
        [87, 37, 9, 115, 59, 77, 64, 21, 47],
    ],
    [
        [104, 55, 44, 218, 9, 54, 53, 130, 226],
        [64, 90, 70, 205, 40, 41, 23, 26, 57],
        [54, 57, 112, 184, 5, 41, 38, 166, 213],
        [30, 34, 26, 133, 152, 116, 10, 32, 134],
        [39, 19, 53, 221, 26, 114, 32, 73, 255],
        [31, 9, 65, 234, 2, 15, 1, 118, 73],
        [75, 32, 12, 51, 192, 255, 160, 43, 51],
        [88, 31, 35, 67, 102, 85, 55, 186, 85],
        [56, 21, 23, 111, 59, 205, 45, 37, 192],
        [55, 38, 70, 124, 73, 102, 1, 34, 98],
    ],
    [
        [125, 98, 42, 88, 104, 85, 117, 175, 82],
        [95, 84, 53, 89, 128, 100, 113, 101, 45],
        [75, 79, 123, 47, 51, 128, 81, 171, 1],
        [57, 17, 5, 71, 102, 57, 53, 41, 49],
        [38, 33, 13, 121, 57, 73, 26, 1, 85],
        [41, 10, 67, 138, 77, 110, 90, 47, 114],
        [115, 21, 2, 10, 102, 255, 166, 23, 6],
        [101, 29, 16, 10, 85, 128, 101, 196, 26],
        [57, 18, 10, 102, 102, 213, 34, 20, 43],
        [117, 20, 15, 36, 163, 128, 68, 1, 26],
    ],
    [
        [102, 61, 71, 37, 34, 53, 31, 243, 192],
        [69, 60, 71, 38, 73, 119, 28, 222, 37],
        [68, 45, 128, 34, 1, 47, 11, 245, 171],
        [62, 17, 19, 70, 146, 85, 55, 62, 70],
        [37, 43, 37, 154, 100, 163, 85, 160, 1],
        [63, 9, 92, 136, 28, 64, 32, 201, 85],
        [75, 15, 9, 9, 64, 255, 184, 119, 16],
        [86, 6, 28, 5, 64, 255, 25, 248, 1],
        [56, 8, 17, 132, 137, 255, 55, 116, 128],
        [58, 15, 20, 82, 135, 57, 26, 121, 40],
    ],
    [
        [164, 50, 31, 137, 154, 133, 25, 35, 218],
        [51, 103, 44, 131, 131, 123, 31, 6, 158],
        [86, 40, 64, 135, 148, 224, 45, 183, 128],
        [22, 26, 17, 131, 240, 154, 14, 1, 209],
        [45, 16, 21, 91, 64, 222, 7, 1, 197],
        [56, 21, 39, 155, 60, 138, 23, 102, 213],
        [83, 12, 13, 54, 192, 255, 68, 47, 28],
        [85, 26, 85, 85, 128, 128, 32, 146, 171],
        [18, 11, 7, 63, 144, 171, 4, 4, 246],
        [35, 27, 10, 146, 174, 171, 12, 26, 128],
    ],
    [
        [190, 80, 35, 99, 180, 80, 126, 54, 45],
        [85, 126, 47, 87, 176, 51, 41, 20, 32],
        [101, 75, 128, 139, 118, 146, 116, 128, 85],
        [56, 41, 15, 176, 236, 85, 37, 9, 62],
        [71, 30, 17, 119, 118, 255, 17, 18, 138],
        [101, 38, 60, 138, 55, 70, 43, 26, 142],
        [146, 36, 19, 30, 171, 255, 97, 27, 20],
        [138, 45, 61, 62, 219, 1, 81, 188, 64],
        [32, 41, 20, 117, 151, 142, 20, 21, 163],
        [112, 19, 12, 61, 195, 128, 48, 4, 24],
    ],
];
