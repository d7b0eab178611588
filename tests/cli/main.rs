//! End-to-end tests of the `rchart` binary: one test binary, one module per area.

mod bad_input;
mod create;
mod diff;
mod large;
mod lint;
mod locks;
mod multiroute_chart;
mod oci;
mod package;
mod releases;
mod safety;
mod store;
mod support;
mod template;
mod wait;
