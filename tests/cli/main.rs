//! End-to-end tests of the `rchart` binary: one test binary, one module per area.

mod bad_input;
mod bounds;
mod create;
mod damaged;
mod diff;
mod hooks;
mod info;
mod large;
mod lint;
mod locks;
mod multiroute_chart;
mod package;
mod post_renderer;
mod project;
mod releases;
mod render_limits;
mod safety;
mod secrets_in_errors;
mod store;
mod support;
mod template;
mod test_command;
mod unlock;
mod wait;
