//! Actions: what each command does, independent of how arguments arrive.

pub mod lint;
pub mod package;
pub mod render_release;
pub mod scaffold;
