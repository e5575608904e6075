//! The marker walk and the scan rules on hand-made streams.

use super::*;

/// A minimal JPEG: SOF, then scans with no entropy data, then EOI.
fn jpeg(sof: u8, size: u16, scans: &[(&[u8], u8, u8, u8, u8)]) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8, 0xFF, sof, 0, 17, 8];
    out.extend(size.to_be_bytes());
    out.extend(size.to_be_bytes());
    out.extend([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    for (ids, start, end, high, low) in scans {
        out.extend([0xFF, 0xDA, 0, 4 + 2 * ids.len() as u8 + 2, ids.len() as u8]);
        for id in *ids {
            out.extend([*id, 0]);
        }
        out.extend([*start, *end, (high << 4) | low, 0x12, 0x34]);
    }
    out.extend([0xFF, 0xD9]);
    out
}

/// libjpeg's default progression for a colour image.
const STANDARD: &[(&[u8], u8, u8, u8, u8)] = &[
    (&[1, 2, 3], 0, 0, 0, 1),
    (&[1], 1, 5, 0, 2),
    (&[3], 1, 63, 0, 1),
    (&[2], 1, 63, 0, 1),
    (&[1], 6, 63, 0, 2),
    (&[1], 1, 63, 2, 1),
    (&[1, 2, 3], 0, 0, 1, 0),
    (&[3], 1, 63, 1, 0),
    (&[2], 1, 63, 1, 0),
    (&[1], 1, 63, 1, 0),
];

#[test]
fn a_standard_progression_is_read_and_costed() {
    let structure = read(&jpeg(0xC2, 1024, STANDARD)).unwrap();
    assert_eq!(structure.process, Process::Progressive);
    assert_eq!(structure.scans, 10);
    // 1024² at 4:2:0: 16384 luma blocks, 4096 per chroma component.
    assert_eq!(structure.coefficient_bytes, (16384 + 2 * 4096) * 128);
    assert!(structure.work > 0);
}

#[test]
fn a_repeated_refinement_scan_is_refused_before_decoding() {
    let mut scans = STANDARD.to_vec();
    scans.push((&[1], 1, 63, 1, 0));
    let error = read(&jpeg(0xC2, 1024, &scans)).unwrap_err();
    assert_eq!(error.code(), "undecodable_image");
    assert!(error.to_string().contains("progression"), "{error}");
}

#[test]
fn scan_counts_past_the_limit_are_too_complex() {
    // A valid progression with a scan per coefficient and bit: 14 DC
    // scans, then 63 × 14 AC scans for one component: 896 in all.
    let mut scans: Vec<(&[u8], u8, u8, u8, u8)> = vec![(&[1, 2, 3], 0, 0, 0, 13)];
    for bit in (0..13).rev() {
        scans.push((&[1, 2, 3], 0, 0, bit + 1, bit));
    }
    for coefficient in 1..=63 {
        scans.push((&[1], coefficient, coefficient, 0, 13));
        for bit in (0..13).rev() {
            scans.push((&[1], coefficient, coefficient, bit + 1, bit));
        }
    }
    let error = read(&jpeg(0xC2, 64, &scans)).unwrap_err();
    assert_eq!(error.code(), "too_complex");
}

#[test]
fn sequential_scans_send_each_component_once() {
    assert!(read(&jpeg(0xC0, 64, &[(&[1, 2, 3], 0, 63, 0, 0)])).is_ok());
    assert!(
        read(&jpeg(
            0xC0,
            64,
            &[(&[1, 2, 3], 0, 63, 0, 0), (&[1], 0, 63, 0, 0)]
        ))
        .is_err()
    );
    assert!(read(&jpeg(0xC0, 64, &[(&[1, 2, 3], 0, 5, 0, 0)])).is_err());
}

#[test]
fn ac_before_dc_and_bad_bit_positions_are_refused() {
    assert!(read(&jpeg(0xC2, 64, &[(&[1], 1, 5, 0, 0)])).is_err());
    assert!(read(&jpeg(0xC2, 64, &[(&[1, 2, 3], 0, 0, 3, 1)])).is_err());
    assert!(
        read(&jpeg(0xC2, 64, &[(&[1, 2], 1, 5, 0, 0)])).is_err(),
        "AC scans are single-component"
    );
}

#[test]
fn structure_errors_are_refused() {
    let good = jpeg(0xC0, 64, &[(&[1, 2, 3], 0, 63, 0, 0)]);
    assert!(read(&good[..good.len() - 2]).is_err(), "no end marker");
    let mut junk = good.clone();
    junk.splice(2..2, [0x12, 0x34]);
    assert!(read(&junk).is_err(), "bytes between segments");
    assert!(
        read(&jpeg(0xC5, 64, &[(&[1, 2, 3], 0, 63, 0, 0)])).is_err(),
        "hierarchical"
    );
    // An end marker inside an APP segment (a thumbnail) does not count.
    assert!(read(b"\xFF\xD8\xFF\xE1\x00\x04\xFF\xD9\xFF\xDA\x00\x02\x12").is_err());
}

#[test]
fn entropy_data_with_stuffing_and_restarts_is_skipped() {
    let mut bytes = jpeg(0xC0, 64, &[(&[1, 2, 3], 0, 63, 0, 0)]);
    let end = bytes.len() - 2;
    bytes.splice(
        end..end,
        [0xFF, 0x00, 0x55, 0xFF, 0xD0, 0x66, 0xFF, 0xFF, 0xD1],
    );
    assert_eq!(read(&bytes).unwrap().scans, 1);
}

#[test]
fn each_component_gets_its_table_s_coarsest_ac_step() {
    let bytes = jpeg(0xC2, 64, STANDARD);
    assert_eq!(read(&bytes).unwrap().largest_ac_steps, [None; 3]);
    // Table 0 (luma) defined, then redefined coarser; table 1 (chroma) in
    // 16-bit steps, whose DC step does not count.
    let dqt = |spec: u8, steps: &[u16]| {
        let wide = spec >> 4 == 1;
        let mut segment = vec![0xFF, 0xDB, 0, 0, spec];
        for &step in steps {
            if wide {
                segment.extend(step.to_be_bytes());
            } else {
                segment.push(step as u8);
            }
        }
        let length = (segment.len() - 2) as u16;
        segment[2..4].copy_from_slice(&length.to_be_bytes());
        segment
    };
    let mut luma = [2u16; 64];
    luma[63] = 3;
    let mut chroma = [7u16; 64];
    chroma[0] = 900;
    chroma[10] = 300;
    let mut tables = dqt(0x00, &[1; 64]);
    tables.extend(dqt(0x00, &luma));
    tables.extend(dqt(0x11, &chroma));
    let mut with_tables = bytes.clone();
    with_tables.splice(2..2, tables);
    let structure = read(&with_tables).unwrap();
    assert_eq!(structure.largest_ac_steps, [Some(3), Some(300), Some(300)]);
    // A table cut short adds nothing (libjpeg refuses it when it decodes).
    let mut short = bytes;
    short.splice(2..2, [0xFF, 0xDB, 0, 12, 0x00, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    assert_eq!(read(&short).unwrap().largest_ac_steps, [None; 3]);
}

#[test]
fn the_exif_block_is_the_last_one_before_the_first_scan() {
    let app1 = |payload: &[u8]| {
        let mut segment = vec![0xFF, 0xE1];
        segment.extend(((payload.len() + 2) as u16).to_be_bytes());
        segment.extend(payload);
        segment
    };
    let mut bytes = jpeg(0xC0, 64, &[(&[1, 2, 3], 0, 63, 0, 0)]);
    assert_eq!(read(&bytes).unwrap().exif, None);
    let first = app1(b"Exif\0\0MM\0*first");
    let xmp = app1(b"http://ns.adobe.com/xap/1.0/\0<x/>");
    let second = app1(b"Exif\0\0II*\0second");
    let start = 2 + first.len() + xmp.len() + 4 + 6;
    bytes.splice(2..2, [first, xmp, second].concat());
    let exif = read(&bytes).unwrap().exif.unwrap();
    assert_eq!(&bytes[exif.clone()], b"II*\0second");
    assert_eq!(exif.start, start);
    // One after the scan is not the picture's.
    let end = bytes.len() - 2;
    bytes.splice(end..end, app1(b"Exif\0\0late"));
    assert_eq!(read(&bytes).unwrap().exif, Some(exif));
}
