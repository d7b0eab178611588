//! What an operation tells a person while it runs. Actions never print: `commands/`
//! hands them a [`Reporter`], which decides where and how the words appear.

use crate::cluster::wait::WaitProgress;

/// Receives the progress, warnings and handled errors of an operation.
pub trait Reporter: Send + Sync {
    /// A step worth knowing, e.g. `namespace backend (environment prod)`.
    fn info(&self, message: &str);
    /// Something went wrong without stopping the operation.
    fn warn(&self, message: &str);
    /// An error the operation then handled, e.g. the failure `--atomic` undid.
    fn error(&self, message: &str);
    /// A display for one wait until resources are ready.
    fn wait_progress(&self) -> Box<dyn WaitProgress>;
}
