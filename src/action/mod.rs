//! Actions: what each command does, independent of how arguments arrive.

pub mod atomic;
pub mod dependency;
pub mod deploy;
pub mod diff;
pub mod hooks;
pub mod install;
pub mod lint;
pub mod package;
pub mod preflight;
pub mod query;
pub mod render_release;
pub mod repo;
pub mod report;
pub mod rollback;
pub mod scaffold;
pub mod scope;
pub mod session;
pub mod show;
pub mod target;
pub mod testing;
pub mod uninstall;
pub mod unlock;
pub mod upgrade;
