//! `rchart version`.

use crate::cli::{VersionArgs, VersionOutput};
use crate::version::build_info;

use super::Outcome;

pub fn run(args: VersionArgs) -> anyhow::Result<Outcome> {
    let info = build_info();
    match args.output {
        Some(VersionOutput::Json) => outln!("{}", serde_json::to_string_pretty(&info)?),
        None => {
            outln!("rchart {}", info.version);
            outln!("git commit: {}", info.git_commit);
            outln!("rust: {}", info.rust_version);
            let versions = info.kubernetes_versions;
            outln!(
                "kubernetes: {} to {}",
                versions.first().copied().unwrap_or_default(),
                versions.last().copied().unwrap_or_default()
            );
        }
    }
    Ok(Outcome::Success)
}
