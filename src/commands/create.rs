use crate::action::scaffold::create;
use crate::cli::CreateArgs;

use super::Outcome;

pub fn run(args: CreateArgs) -> anyhow::Result<Outcome> {
    let root = create(std::path::Path::new("."), &args.name)?;
    outln!("Created chart {}", root.display());
    Ok(Outcome::Success)
}
