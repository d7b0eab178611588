use crate::action::scaffold::create;
use crate::cli::CreateArgs;

use super::Outcome;

pub fn run(args: CreateArgs) -> anyhow::Result<Outcome> {
    let created = create(&args.path, args.project)?;
    outln!("Created chart {}", created.chart.display());
    for file in &created.project {
        outln!("Created {}", file.display());
    }
    Ok(Outcome::Success)
}
