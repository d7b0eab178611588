//! `rchart rollback`.

use crate::action::deploy::DeployOptions;
use crate::action::hooks::HookOptions;
use crate::action::rollback::{RollbackOptions, rollback};
use crate::cli::{GlobalArgs, RollbackArgs};
use crate::project::{Workspace, name_or_revision};

use super::install::print_summary;
use super::{Outcome, block_on, open_release_session};

pub fn run(global: &GlobalArgs, args: RollbackArgs) -> anyhow::Result<Outcome> {
    let workspace = Workspace::current()?;
    let (name, revision) = name_or_revision(args.name, args.revision)?;
    let name = workspace.release_name(name.as_deref(), None)?;
    block_on(async {
        let session = open_release_session(global, &workspace, &name).await?;
        let options = RollbackOptions {
            name: &name,
            revision,
            description: args.description.as_deref(),
            deploy: DeployOptions {
                take_ownership: args.ownership.take_ownership,
                dry_run: args.dry_run,
                history_max: args.history.history_max,
                wait: args.wait,
                timeout: args.timeout,
                force_conflicts: args.ownership.force_conflicts,
                namespace_missing: false,
                strict_refs: false,
                hooks: HookOptions {
                    run: !args.no_hooks,
                    timeout: args.timeout,
                },
            },
        };
        let record = rollback(&session, &options).await?;
        if args.dry_run {
            eprintln!(
                "dry run: revision {} would be restored; nothing was changed",
                record.revision
            );
        } else {
            outln!(
                "Rollback was a success: {} is at revision {}",
                record.name,
                record.revision
            );
            print_summary(&record)?;
        }
        Ok(Outcome::Success)
    })
}
