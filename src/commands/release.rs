//! install, upgrade, rollback and uninstall: the commands that change a release.

use anyhow::{Context, bail};

use crate::action::atomic;
use crate::action::deploy::DeployOptions;
use crate::action::install::{
    InstallOptions, Outcome as DeployOutcome, check_release_name, install,
};
use crate::action::rollback::{RollbackOptions, rollback};
use crate::action::session::Session;
use crate::action::uninstall::{UninstallOptions, uninstall};
use crate::action::upgrade::{UpgradeOptions, ValuesMode, upgrade};
use crate::cli::{DeployArgs, GlobalArgs, InstallArgs, RollbackArgs, UninstallArgs, UpgradeArgs};
use crate::release::ReleaseRecord;

use super::{Outcome, block_on, target};

fn deploy_options(args: &DeployArgs) -> DeployOptions {
    DeployOptions {
        take_ownership: args.ownership.take_ownership,
        dry_run: args.dry_run,
        history_max: args.history.history_max,
        wait: (args.wait.wait || args.wait.atomic).then_some(args.wait.timeout),
        force_conflicts: args.ownership.force_conflicts,
    }
}

pub fn install_command(global: &GlobalArgs, args: InstallArgs) -> anyhow::Result<Outcome> {
    block_on(async {
        let session = Session::open(&target(global)).await?;
        let options = InstallOptions {
            name: &args.name,
            chart: &args.chart,
            sources: &args.deploy.values.sources,
            description: args.deploy.description.as_deref(),
            deploy: deploy_options(&args.deploy),
        };
        let outcome = changing(
            &session,
            "install",
            &args.name,
            true,
            &args.deploy,
            async || install(&session, &options).await,
        )
        .await?;
        print_deploy_outcome(&outcome)?;
        Ok(Outcome::Success)
    })
}

pub fn upgrade_command(global: &GlobalArgs, args: UpgradeArgs) -> anyhow::Result<Outcome> {
    block_on(async {
        let session = Session::open(&target(global)).await?;
        let options = UpgradeOptions {
            name: &args.name,
            chart: &args.chart,
            sources: &args.deploy.values.sources,
            values_mode: ValuesMode::from_reuse_flag(args.reuse_values),
            install: args.install,
            description: args.deploy.description.as_deref(),
            deploy: deploy_options(&args.deploy),
        };
        let outcome = changing(
            &session,
            "upgrade",
            &args.name,
            args.install,
            &args.deploy,
            async || upgrade(&session, &options).await,
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
                take_ownership: args.ownership.take_ownership,
                dry_run: args.dry_run,
                history_max: args.history.history_max,
                wait: args.wait.then_some(args.timeout),
                force_conflicts: args.ownership.force_conflicts,
            },
        };
        let record = if args.dry_run {
            rollback(&session, &options).await?
        } else {
            session
                .locked("rollback", &args.name, async || {
                    rollback(&session, &options).await
                })
                .await?
        };
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
        let options = UninstallOptions {
            name: &args.name,
            keep_history: args.keep_history,
            description: args.description.as_deref(),
        };
        let result = session
            .locked("uninstall", &args.name, async || {
                uninstall(&session, &options).await
            })
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

/// Runs an install or upgrade: creates the namespace first when asked (the lock lives in
/// it), and holds the release's lock unless this is a dry run, which changes nothing.
async fn changing(
    session: &Session,
    verb: &str,
    name: &str,
    install_allowed: bool,
    args: &DeployArgs,
    operation: impl AsyncFnOnce() -> anyhow::Result<DeployOutcome>,
) -> anyhow::Result<DeployOutcome> {
    // Before anything is created in the cluster, the lock included.
    check_release_name(name)?;
    if args.dry_run {
        return operation().await;
    }
    // An upgrade without --install never creates anything for a release that is missing.
    if args.create_namespace && install_allowed {
        session.create_namespace().await?;
    }
    if !args.wait.atomic {
        return session.locked(verb, name, operation).await;
    }
    session
        .locked(verb, name, async || {
            let before = atomic::before(session, name).await?;
            let error = match operation().await {
                Ok(outcome) => return Ok(outcome),
                Err(error) => error,
            };
            let cause = crate::error_report(&error);
            let undone = atomic::undo_failed(
                session,
                name,
                before,
                cause.trim_start_matches("error: "),
                args.wait.timeout,
                args.history.history_max,
            )
            .await
            .with_context(|| format!("release {name} failed, and undoing it failed too"))?;
            let Some(undone) = undone else {
                return Err(error);
            };
            // The cause first, then what was done about it.
            eprintln!("{cause}");
            bail!("release {name}: {undone}")
        })
        .await
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
