//! Admission control: who gets in, how much each may hold, and how long
//! anyone may take. The router and the upload handler ask this module; no
//! handler keeps a limit of its own.
//!
//! - `connections`: the listener's accept loop, with a cap on open
//!   connections (overall and per address, evicting idle ones first) and a
//!   close for connections that stall before, between or during requests.
//! - `callers`: per caller, a bound on uploads in flight (429 beyond it) and
//!   a share of the CPUs, so one caller's bombs never queue another's photo.
//! - `body`: upload bodies charged to a memory budget for the bytes that
//!   actually arrive, and refused when they arrive slower than a minimum rate.

mod body;
mod callers;
pub mod connections;

pub use body::{BodyFault, Charge, MeteredBody, UploadMemory};
pub use callers::{BACKGROUND, CpuPermit, CpuShare, InFlight, UploadSlots};
pub use connections::ConnectionLimits;

use std::time::Duration;

/// Every admission setting, with the defaults `serve` starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionSettings {
    /// Uploads one caller may have in flight (reading, validating) at once.
    pub uploads_per_caller: usize,
    /// Transforms one caller may run at once; never more than the CPUs.
    pub cpu_per_caller: usize,
    /// CPU slots in all (validations and background transforms).
    pub cpu_slots: usize,
    /// Upload bytes held in memory at once across all requests.
    pub upload_memory: u64,
    /// How long an upload waits for memory before a 503.
    pub memory_wait: Duration,
    /// How long a body may take before the minimum rate applies.
    pub body_grace: Duration,
    /// Slowest average rate a body may arrive at after the grace, bytes/s.
    pub min_body_rate: u64,
    pub connections: ConnectionLimits,
}

impl Default for AdmissionSettings {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            uploads_per_caller: 8,
            // Half the machine each: a caller's bombs leave the other half.
            cpu_per_caller: (cpus / 2).max(1),
            cpu_slots: cpus,
            // About 60 photos of 4 MB, several times what the CPUs get through at once.
            upload_memory: 256 << 20,
            memory_wait: Duration::from_secs(5),
            body_grace: Duration::from_secs(10),
            // 128 kbit/s: a poor mobile uplink still gets a 25 MB photo through.
            min_body_rate: 16 << 10,
            connections: ConnectionLimits::default(),
        }
    }
}

/// The shared admission state of one running service.
#[derive(Debug)]
pub struct Admission {
    pub settings: AdmissionSettings,
    pub uploads: UploadSlots,
    pub cpu: CpuShare,
    pub memory: UploadMemory,
}

impl Admission {
    /// `max_body` is the largest upload: the budget always holds one.
    pub fn new(settings: AdmissionSettings, max_body: u64) -> Self {
        Self {
            settings,
            uploads: UploadSlots::new(settings.uploads_per_caller),
            cpu: CpuShare::new(settings.cpu_slots, settings.cpu_per_caller),
            memory: UploadMemory::new(settings.upload_memory, max_body),
        }
    }

    /// Meters an upload body from its first byte.
    pub fn meter(&self, body: axum::body::Body) -> MeteredBody {
        MeteredBody::new(
            body,
            self.memory.clone(),
            self.settings.body_grace,
            self.settings.min_body_rate,
            self.settings.memory_wait,
        )
    }
}
