//! `rchart unlock`: the manual way out of a lock whose holder is gone, for when waiting
//! for it to expire is too long.
//!
//! It refuses while the holder runs on this host; anywhere else, removing the lock is
//! the user's call. The revision the holder left unfinished is marked failed, so the
//! next operation can start at once.

use anyhow::bail;

use super::session::Session;
use crate::release::lock;

/// Whom `unlock` removed, and what it marked failed.
#[derive(Debug)]
pub struct Unlocked {
    pub holder: String,
    pub since: String,
    /// Revisions the holder left unfinished, now failed.
    pub failed_revisions: Vec<u64>,
}

pub async fn unlock(session: &Session, release: &str) -> anyhow::Result<Unlocked> {
    let client = &session.cluster.client;
    let namespace = session.namespace();
    let describe = |e| session.cluster.describe(e);
    let Some(state) = lock::inspect(client, namespace, release)
        .await
        .map_err(describe)?
    else {
        bail!("release {release} is not locked in namespace {namespace}");
    };
    if let Some(pid) = lock::live_holder_here(&state.holder) {
        bail!(
            "release {release} is locked by {}, which is still running on this host (pid {pid}); stop it, or let it finish",
            state.holder
        );
    }
    match lock::remove(client, namespace, &state).await {
        Ok(()) => {}
        Err(kube::Error::Api(status)) if status.code == 409 || status.code == 404 => bail!(
            "the lock of release {release} changed while it was being removed (its holder renewed it, or another operation took it); nothing was removed"
        ),
        Err(error) => return Err(describe(error).into()),
    }
    let why = format!(
        "Abandoned: the operation of {} stopped without finishing; its lock was removed by `rchart unlock`",
        state.holder
    );
    let failed_revisions = session.fail_pending(release, &why).await?;
    Ok(Unlocked {
        holder: state.holder,
        since: state.since,
        failed_revisions,
    })
}
