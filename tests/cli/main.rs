//! End-to-end tests of the `rchart` binary: one test binary, one module per area.

mod bad_input;
mod bounds;
mod create;
mod damaged;
mod diff;
mod info;
mod kubeconfig;
mod large;
mod lint;
mod locks;
mod multiroute_chart;
mod output;
mod package;
mod project;
mod releases;
mod render_limits;
mod safety;
mod secrets_in_errors;
mod store;
mod support;
mod template;
mod unlock;
mod wait;
