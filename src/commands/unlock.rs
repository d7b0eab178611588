//! `rchart unlock`.

use crate::action::unlock::unlock;
use crate::cli::{GlobalArgs, UnlockArgs};

use super::{Outcome, block_on, open_session};

pub fn run(global: &GlobalArgs, args: UnlockArgs) -> anyhow::Result<Outcome> {
    block_on(async {
        let session = open_session(global).await?;
        let unlocked = unlock(&session, &args.name).await?;
        outln!(
            "removed the lock of release {} held by {} since {}",
            args.name,
            unlocked.holder,
            unlocked.since
        );
        for revision in &unlocked.failed_revisions {
            outln!("revision {revision}, left unfinished by that operation, is marked failed");
        }
        Ok(Outcome::Success)
    })
}
