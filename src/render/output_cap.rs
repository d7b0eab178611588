//! The limit on a chart's rendered output (`--max-output`): a template that loops over
//! more than it should stops the render with an error instead of filling memory.

use std::sync::atomic::{AtomicU64, Ordering};

/// 64 MiB: far more than any real chart renders, small enough for any machine.
pub const DEFAULT_MAX_OUTPUT: u64 = 64 << 20;

/// Bytes rendered so far, shared by the threads that render.
pub struct OutputCap {
    limit: u64,
    total: AtomicU64,
}

impl OutputCap {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            total: AtomicU64::new(0),
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Counts `bytes` more; false once the total has passed the limit.
    pub fn take(&self, bytes: usize) -> bool {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        let before = self.total.fetch_add(bytes, Ordering::Relaxed);
        before.saturating_add(bytes) <= self.limit
    }

    /// Whether some template already passed the limit: the others need not render.
    pub fn passed(&self) -> bool {
        self.total.load(Ordering::Relaxed) > self.limit
    }
}

const UNITS: &[(&str, u64)] = &[
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("Gi", 1 << 30),
    ("Mi", 1 << 20),
    ("Ki", 1 << 10),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
    ("KB", 1_000),
    ("G", 1_000_000_000),
    ("M", 1_000_000),
    ("K", 1_000),
    ("B", 1),
];

/// `64MiB`, `128Mi`, `1GiB`, `500MB`, `1000000`: a size in bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, multiplier) = UNITS
        .iter()
        .find_map(|(unit, multiplier)| {
            let number = text.strip_suffix(unit)?;
            Some((number.trim_end(), *multiplier))
        })
        .unwrap_or((text, 1));
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .filter(|&bytes| bytes > 0)
        .ok_or_else(|| format!("{text:?} is not a size (expected e.g. 64MiB, 1GiB, 500MB)"))
}

/// The size in the largest binary unit that divides it: `64MiB`.
pub fn format_size(bytes: u64) -> String {
    for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_and_print_in_binary_and_decimal_units() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("128Mi"), Ok(128 << 20));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
        assert_eq!(format_size(DEFAULT_MAX_OUTPUT), "64MiB");
        assert_eq!(format_size(3 << 30), "3GiB");
        assert_eq!(format_size(1000), "1000B");
    }

    #[test]
    fn the_cap_counts_across_takes() {
        let cap = OutputCap::new(10);
        assert!(cap.take(6));
        assert!(!cap.passed());
        assert!(!cap.take(5));
        assert!(cap.passed());
    }
}
