//! `rchart show chart|values|readme|all [CHART]`.

use std::io::Write as _;

use crate::action::show::{ShowPart, show};
use crate::cli::ShowCommand;
use crate::project::Workspace;

use super::Outcome;

pub fn run(command: ShowCommand) -> anyhow::Result<Outcome> {
    let (part, args) = match command {
        ShowCommand::Chart(args) => (ShowPart::Chart, args),
        ShowCommand::Values(args) => (ShowPart::Values, args),
        ShowCommand::Readme(args) => (ShowPart::Readme, args),
        ShowCommand::All(args) => (ShowPart::All, args),
    };
    let chart = Workspace::current()?.chart(args.chart.as_deref())?;
    let chart = super::pull_repo::locate(&chart, &args.source)?.path;
    let bytes = show(&chart, part)?;
    std::io::stdout().lock().write_all(&bytes)?;
    Ok(Outcome::Success)
}
