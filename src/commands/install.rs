//! `rchart install`, and what install and upgrade print alike.

use crate::action::atomic::AtomicOptions;
use crate::action::deploy::DeployOptions;
use crate::action::hooks::HookOptions;
use crate::action::install::{InstallOptions, Outcome as DeployOutcome, install};
use crate::cli::{DeployArgs, GlobalArgs, InstallArgs};
use crate::project::Workspace;
use crate::release::ReleaseRecord;
use crate::render::RenderOptions;

use super::{Outcome, block_on, chart_release, open_session, post_renderer};

pub fn run(global: &GlobalArgs, args: InstallArgs) -> anyhow::Result<Outcome> {
    let workspace = Workspace::current()?;
    let target = chart_release(
        global,
        &workspace,
        args.name,
        args.chart,
        &args.deploy.values,
        &args.source,
    )?;
    let post_renderer = post_renderer(&args.deploy.post_renderer);
    block_on(async {
        let session = open_session(global, &workspace, target.selection).await?;
        let options = InstallOptions {
            name: &target.name,
            chart: &target.chart,
            sources: &target.sources,
            render: render_options(&args.deploy),
            post_renderer: post_renderer.as_ref(),
            origin: target.origin.as_ref(),
            description: args.deploy.description.as_deref(),
            create_namespace: args.deploy.create_namespace,
            atomic: atomic_options(&args.deploy),
            deploy: deploy_options(&args.deploy),
        };
        let outcome = install(&session, &options).await?;
        print_deploy_outcome(&outcome)?;
        Ok(Outcome::Success)
    })
}

pub(super) fn render_options(args: &DeployArgs) -> RenderOptions {
    RenderOptions {
        max_output: args.output_limit.max_output,
    }
}

pub(super) fn deploy_options(args: &DeployArgs) -> DeployOptions {
    DeployOptions {
        take_ownership: args.ownership.take_ownership,
        dry_run: args.dry_run,
        history_max: args.history.history_max,
        // --atomic implies --wait.
        wait: args.wait.wait || args.wait.atomic,
        timeout: args.wait.timeout,
        force_conflicts: args.ownership.force_conflicts,
        namespace_missing: false,
        strict_refs: args.strict_refs,
        hooks: HookOptions {
            run: !args.no_hooks,
            timeout: args.wait.timeout,
        },
    }
}

pub(super) fn atomic_options(args: &DeployArgs) -> Option<AtomicOptions> {
    args.wait.atomic.then_some(AtomicOptions {
        timeout: args.wait.timeout,
        history_max: args.history.history_max,
        hooks: !args.no_hooks,
    })
}

pub(super) fn print_deploy_outcome(outcome: &DeployOutcome) -> anyhow::Result<()> {
    match &outcome.record {
        None => {
            out!("{}", outcome.manifest);
            if outcome.namespace_missing {
                eprintln!(
                    "dry run: the namespace does not exist yet, so the server checked only the namespace and the objects outside it; nothing was stored"
                );
            } else {
                eprintln!("dry run: the server accepted every object; nothing was stored");
            }
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

pub(super) fn print_summary(record: &ReleaseRecord) -> anyhow::Result<()> {
    outln!("NAME: {}", record.name);
    outln!("NAMESPACE: {}", record.namespace);
    outln!("REVISION: {}", record.revision);
    outln!("STATUS: {}", record.status);
    outln!("LAST DEPLOYED: {}", record.last_deployed);
    outln!("DESCRIPTION: {}", record.description);
    Ok(())
}
