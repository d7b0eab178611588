//! End-to-end tests of the `rchart` binary: one test binary, one module per area.

mod bad_input;
mod bounds;
mod create;
mod damaged;
mod dependencies;
mod diff;
mod info;
mod large;
mod lint;
mod locks;
mod multiroute_chart;
mod oci;
mod oci_dependencies;
mod package;
mod project;
mod releases;
mod render_limits;
mod repo_server;
mod repositories;
mod safety;
mod secrets_in_errors;
mod store;
mod support;
mod template;
mod unlock;
mod wait;
