//! install, upgrade, rollback and uninstall: the commands that change a release.

use crate::action::deploy::DeployOptions;
use crate::action::install::{InstallOptions, Outcome as DeployOutcome, install};
use crate::action::rollback::{RollbackOptions, rollback};
use crate::action::session::Session;
use crate::action::uninstall::{UninstallOptions, uninstall};
use crate::action::upgrade::{UpgradeOptions, ValuesMode, upgrade};
use crate::cli::{DeployArgs, GlobalArgs, InstallArgs, RollbackArgs, UninstallArgs, UpgradeArgs};
use crate::release::ReleaseRecord;

use super::{Outcome, block_on, target};

fn deploy_options(args: &DeployArgs) -> DeployOptions {
    DeployOptions {
        take_ownership: args.take_ownership,
        dry_run: args.dry_run,
        history_max: args.history.history_max,
    }
}

pub fn install_command(global: &GlobalArgs, args: InstallArgs) -> anyhow::Result<Outcome> {
    block_on(async {
        let session = Session::open(&target(global)).await?;
        let outcome = install(
            &session,
            &InstallOptions {
                name: &args.name,
                chart: &args.chart,
                sources: &args.deploy.values.sources,
                create_namespace: args.deploy.create_namespace,
                description: args.deploy.description.as_deref(),
                deploy: deploy_options(&args.deploy),
            },
        )
        .await?;
        print_deploy_outcome(&outcome)?;
        Ok(Outcome::Success)
    })
}

pub fn upgrade_command(global: &GlobalArgs, args: UpgradeArgs) -> anyhow::Result<Outcome> {
    block_on(async {
        let session = Session::open(&target(global)).await?;
        let outcome = upgrade(
            &session,
            &UpgradeOptions {
                name: &args.name,
                chart: &args.chart,
                sources: &args.deploy.values.sources,
                values_mode: if args.reuse_values {
                    ValuesMode::Reuse
                } else {
                    ValuesMode::Reset
                },
                install: args.install,
                create_namespace: args.deploy.create_namespace,
                description: args.deploy.description.as_deref(),
                deploy: deploy_options(&args.deploy),
            },
        )
        .await?;
        print_deploy_outcome(&outcome)?;
        Ok(Outcome::Success)
    })
}

pub fn rollback_command(global: &GlobalArgs, args: RollbackArgs) -> anyhow::Result<Outcome> {
    block_on(async {
        let session = Session::open(&target(global)).await?;
        let options = RollbackOptions {
            name: &args.name,
            revision: args.revision,
            description: args.description.as_deref(),
            deploy: DeployOptions {
                take_ownership: false,
                dry_run: args.dry_run,
                history_max: args.history.history_max,
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

pub fn uninstall_command(global: &GlobalArgs, args: UninstallArgs) -> anyhow::Result<Outcome> {
    block_on(async {
        let session = Session::open(&target(global)).await?;
        let result = uninstall(
            &session,
            &UninstallOptions {
                name: &args.name,
                keep_history: args.keep_history,
                description: args.description.as_deref(),
            },
        )
        .await?;
        for id in &result.kept {
            outln!("kept (resource policy \"keep\"): {id}");
        }
        for id in &result.foreign {
            outln!("left alone (now owned by something else): {id}");
        }
        outln!("release \"{}\" uninstalled", args.name);
        Ok(Outcome::Success)
    })
}

fn print_deploy_outcome(outcome: &DeployOutcome) -> anyhow::Result<()> {
    match &outcome.record {
        None => {
            out!("{}", outcome.manifest);
            eprintln!("dry run: the server accepted every object; nothing was stored");
        }
        Some(record) => {
            print_summary(record)?;
            if let Some(notes) = &outcome.notes {
                outln!("\nNOTES:\n{notes}");
            }
        }
    }
    Ok(())
}

fn print_summary(record: &ReleaseRecord) -> anyhow::Result<()> {
    outln!("NAME: {}", record.name);
    outln!("NAMESPACE: {}", record.namespace);
    outln!("REVISION: {}", record.revision);
    outln!("STATUS: {}", record.status);
    outln!("LAST DEPLOYED: {}", record.last_deployed);
    outln!("DESCRIPTION: {}", record.description);
    Ok(())
}
