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
