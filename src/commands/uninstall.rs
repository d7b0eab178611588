//! `rchart uninstall`.

use crate::action::uninstall::{UninstallOptions, uninstall};
use crate::cli::{GlobalArgs, UninstallArgs};

use super::{Outcome, block_on, open_session};

pub fn run(global: &GlobalArgs, args: UninstallArgs) -> anyhow::Result<Outcome> {
    block_on(async {
        let session = open_session(global).await?;
        let options = UninstallOptions {
            name: &args.name,
            keep_history: args.keep_history,
            description: args.description.as_deref(),
        };
        let result = uninstall(&session, &options).await?;
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
