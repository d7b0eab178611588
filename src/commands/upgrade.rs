//! `rchart upgrade`.

use crate::action::upgrade::{UpgradeOptions, ValuesMode, upgrade};
use crate::cli::{GlobalArgs, UpgradeArgs};

use super::install::{atomic_options, deploy_options, print_deploy_outcome};
use super::{Outcome, block_on, open_session};

pub fn run(global: &GlobalArgs, args: UpgradeArgs) -> anyhow::Result<Outcome> {
    block_on(async {
        let session = open_session(global).await?;
        let options = UpgradeOptions {
            name: &args.name,
            chart: &args.chart,
            sources: &args.deploy.values.sources,
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
