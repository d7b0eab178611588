//! End-to-end tests of the `rchart` binary: one test binary, one module per area.

mod bad_input;
mod create;
mod lint;
mod package;
mod support;
mod template;
