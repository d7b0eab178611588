//! `rchart upgrade`.

use crate::action::upgrade::{UpgradeOptions, ValuesMode, upgrade};
use crate::cli::{GlobalArgs, UpgradeArgs};
use crate::project::Workspace;

use super::install::{atomic_options, deploy_options, print_deploy_outcome, render_options};
use super::{Outcome, block_on, chart_release, open_session, post_renderer};

pub fn run(global: &GlobalArgs, args: UpgradeArgs) -> anyhow::Result<Outcome> {
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
        let options = UpgradeOptions {
            name: &target.name,
            chart: &target.chart,
            sources: &target.sources,
            render: render_options(&args.deploy),
            post_renderer: post_renderer.as_ref(),
            origin: target.origin.as_ref(),
            values_mode: ValuesMode::from_reuse_flag(args.reuse_values),
            install: args.install,
            description: args.deploy.description.as_deref(),
            create_namespace: args.deploy.create_namespace,
            atomic: atomic_options(&args.deploy),
            deploy: deploy_options(&args.deploy),
        };
        let outcome = upgrade(&session, &options).await?;
        print_deploy_outcome(&outcome)?;
        Ok(Outcome::Success)
    })
}
