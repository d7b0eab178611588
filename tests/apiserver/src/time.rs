//! Durations shared between threads, and the API's time formats.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A duration that one thread sets and others read, to microsecond precision.
#[derive(Debug, Default)]
pub struct AtomicDuration(AtomicU64);

impl AtomicDuration {
    /// Holding `duration`.
    pub fn new(duration: Duration) -> Self {
        AtomicDuration(AtomicU64::new(micros(duration)))
    }

    /// The current value.
    pub fn get(&self) -> Duration {
        Duration::from_micros(self.0.load(Ordering::Relaxed))
    }

    /// Change the value.
    pub fn set(&self, duration: Duration) {
        self.0.store(micros(duration), Ordering::Relaxed);
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Whole milliseconds, saturating.
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
