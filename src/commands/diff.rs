//! `rchart diff upgrade` and `rchart diff rollback`: print what would change, and say
//! through the exit code whether anything would.

use std::io::IsTerminal as _;

use crate::action::diff::{
    DiffDisplay, DiffReport, DiffRollbackOptions, DiffUpgradeOptions, diff_rollback, diff_upgrade,
};
use crate::action::upgrade::ValuesMode;
use crate::cli::{
    ColorChoice, DiffCommand, DiffOutputArgs, DiffRollbackArgs, DiffUpgradeArgs, GlobalArgs,
};
use crate::project::{Workspace, name_or_revision};
use crate::render::RenderOptions;

use super::{Outcome, block_on, chart_release, open_release_session, open_session};

pub fn run(global: &GlobalArgs, command: DiffCommand) -> anyhow::Result<Outcome> {
    match command {
        DiffCommand::Upgrade(args) => upgrade(global, *args),
        DiffCommand::Rollback(args) => rollback(global, args),
    }
}

fn upgrade(global: &GlobalArgs, args: DiffUpgradeArgs) -> anyhow::Result<Outcome> {
    let workspace = Workspace::current()?;
    let target = chart_release(
        global,
        &workspace,
        args.name,
        args.chart,
        &args.values,
        &args.source,
    )?;
    let post_renderer = super::post_renderer(&args.post_renderer);
    let report = block_on(async {
        let session = open_session(global, &workspace, target.selection).await?;
        let options = DiffUpgradeOptions {
            name: &target.name,
            chart: &target.chart,
            sources: &target.sources,
            render: RenderOptions {
                max_output: args.output_limit.max_output,
            },
            post_renderer: post_renderer.as_ref(),
            values_mode: ValuesMode::from_reuse_flag(args.reuse_values),
            take_ownership: args.take_ownership,
        };
        diff_upgrade(&session, &options).await
    })?;
    print_report(&report, &args.output)
}

fn rollback(global: &GlobalArgs, args: DiffRollbackArgs) -> anyhow::Result<Outcome> {
    let workspace = Workspace::current()?;
    let (name, revision) = name_or_revision(args.name, args.revision)?;
    let name = workspace.release_name(name.as_deref(), None)?;
    let report = block_on(async {
        let session = open_release_session(global, &workspace, &name).await?;
        diff_rollback(
            &session,
            &DiffRollbackOptions {
                name: &name,
                revision,
            },
        )
        .await
    })?;
    print_report(&report, &args.output)
}

fn print_report(report: &DiffReport, output: &DiffOutputArgs) -> anyhow::Result<Outcome> {
    let options = DiffDisplay {
        colour: use_colour(output.color),
        show_secrets: output.show_secrets,
    };
    out!("{}", report.render(options)?);
    Ok(if report.has_changes() {
        Outcome::Changes
    } else {
        Outcome::Success
    })
}

/// `auto` colours only a terminal, and never when `NO_COLOR` is set to anything
/// (<https://no-color.org>) or the terminal says it cannot (`TERM=dumb`). An explicit
/// `--color always` wins over both.
fn use_colour(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
            let dumb = std::env::var_os("TERM").is_some_and(|term| term == "dumb");
            !no_color && !dumb && std::io::stdout().is_terminal()
        }
    }
}
