//! `rchart uninstall`.

use crate::action::hooks::HookOptions;
use crate::action::uninstall::{UninstallOptions, uninstall};
use crate::cli::{GlobalArgs, UninstallArgs};
use crate::project::Workspace;

use super::{Outcome, block_on, open_release_session};

pub fn run(global: &GlobalArgs, args: UninstallArgs) -> anyhow::Result<Outcome> {
    let workspace = Workspace::current()?;
    let name = workspace.release_name(args.name.as_deref(), None)?;
    block_on(async {
        let session = open_release_session(global, &workspace, &name).await?;
        let options = UninstallOptions {
            name: &name,
            keep_history: args.keep_history,
            description: args.description.as_deref(),
            hooks: HookOptions {
                run: !args.no_hooks,
                timeout: args.timeout,
            },
        };
        let result = uninstall(&session, &options).await?;
        for id in &result.kept {
            outln!("kept (resource policy \"keep\"): {id}");
        }
        for id in &result.foreign {
            outln!("left alone (now owned by something else): {id}");
        }
        outln!("release \"{name}\" uninstalled");
        Ok(Outcome::Success)
    })
}
