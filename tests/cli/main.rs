//! End-to-end tests of the `rchart` binary: one test binary, one module per area.

mod bad_input;
mod create;
mod diff;
mod large;
mod lint;
mod locks;
mod multiroute_chart;
mod package;
mod releases;
mod render_limits;
mod safety;
mod secrets_in_errors;
mod store;
mod support;
mod template;
mod wait;
