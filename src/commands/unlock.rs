//! `rchart unlock`.

use crate::action::unlock::unlock;
use crate::cli::{GlobalArgs, UnlockArgs};
use crate::project::Workspace;

use super::{Outcome, block_on, open_release_session};

pub fn run(global: &GlobalArgs, args: UnlockArgs) -> anyhow::Result<Outcome> {
    let workspace = Workspace::current()?;
    let name = workspace.release_name(args.name.as_deref(), None)?;
    block_on(async {
        let session = open_release_session(global, &workspace, &name).await?;
        let unlocked = unlock(&session, &name).await?;
        outln!(
            "removed the lock of release {name} held by {} since {}",
            unlocked.holder,
            unlocked.since
        );
        for revision in &unlocked.failed_revisions {
            outln!("revision {revision}, left unfinished by that operation, is marked failed");
        }
        Ok(Outcome::Success)
    })
}
