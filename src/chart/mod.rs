//! Charts: the files of a chart, loaded from a directory or a packaged `.tgz`.

pub mod archive;
pub mod files;
pub mod ignore;
pub mod package;
