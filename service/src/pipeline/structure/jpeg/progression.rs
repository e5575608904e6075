//! The order of a JPEG's scans: every scan must send something new, in the
//! order T.81 allows, or a decoder would have to guess.

use super::{Frame, Process, Scan, corrupt};
use crate::pipeline::Rejection;

/// Which bits of which coefficient each component has received so far, to
/// check that every scan sends something new, in the order T.81 G.1.1.1
/// allows: a coefficient's first scan, then one refinement per lower bit.
pub(super) struct Progression {
    /// Per component and coefficient: the lowest bit sent so far, or None.
    sent: Vec<[Option<u8>; 64]>,
}

impl Progression {
    pub(super) fn new(components: usize) -> Self {
        Self {
            sent: vec![[None; 64]; components],
        }
    }

    pub(super) fn admit(&mut self, frame: &Frame, scan: &Scan) -> Result<(), Rejection> {
        match frame.process {
            Process::Sequential => self.admit_sequential(scan),
            Process::Progressive => self.admit_progressive(scan),
            Process::Lossless => self.admit_lossless(scan),
        }
    }

    fn admit_sequential(&mut self, scan: &Scan) -> Result<(), Rejection> {
        if (scan.start, scan.end, scan.high, scan.low) != (0, 63, 0, 0) {
            return Err(corrupt("has a sequential scan with progressive parameters"));
        }
        self.send_once(scan, 0..=63, "sends a component in two sequential scans")
    }

    fn admit_lossless(&mut self, scan: &Scan) -> Result<(), Rejection> {
        if !(1..=7).contains(&scan.start) || scan.end != 0 || scan.high != 0 || scan.low > 15 {
            return Err(corrupt("has a lossless scan with invalid parameters"));
        }
        self.send_once(scan, 0..=0, "sends a component in two lossless scans")
    }

    fn send_once(
        &mut self,
        scan: &Scan,
        band: std::ops::RangeInclusive<usize>,
        twice: &str,
    ) -> Result<(), Rejection> {
        for &component in &scan.members {
            let sent = &mut self.sent[component];
            if sent[0].is_some() {
                return Err(corrupt(twice));
            }
            for coefficient in band.clone() {
                sent[coefficient] = Some(0);
            }
        }
        Ok(())
    }

    fn admit_progressive(&mut self, scan: &Scan) -> Result<(), Rejection> {
        let bogus = || corrupt("has an inconsistent progression sequence");
        let (start, end) = (usize::from(scan.start), usize::from(scan.end));
        let dc = start == 0;
        if (dc && end != 0) || (!dc && (end < start || end > 63 || scan.members.len() != 1)) {
            return Err(corrupt("has a progressive scan with an invalid band"));
        }
        if scan.low > 13 || scan.high > 13 || (scan.high != 0 && scan.high != scan.low + 1) {
            return Err(corrupt("has a progressive scan with invalid bit positions"));
        }
        for &component in &scan.members {
            let sent = &mut self.sent[component];
            // AC coefficients only follow their component's DC.
            if !dc && sent[0].is_none() {
                return Err(bogus());
            }
            let expected = (scan.high != 0).then_some(scan.high);
            for bits in &mut sent[start..=end] {
                if *bits != expected {
                    return Err(bogus());
                }
                *bits = Some(scan.low);
            }
        }
        Ok(())
    }
}
