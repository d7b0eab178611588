//! rchart: a Helm-style Kubernetes chart packager and release manager.
//!
//! The binary in `main.rs` is a thin shell over this library; see `docs/architecture.md`
//! for how the modules layer on each other.

pub mod chart;
pub mod values;
