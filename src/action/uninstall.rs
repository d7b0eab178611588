//! `rchart uninstall`: delete the release's objects, then its records (or keep them,
//! marked uninstalled).
//!
//! An uninstall runs, top to bottom: take the release's lock; read the history (an
//! uninstalled release only loses its kept records); mark the latest revision
//! uninstalling; delete the objects the release may have left, in reverse install order,
//! except those kept by policy or now owned by someone else; then delete the records, or
//! keep them marked uninstalled; release the lock.

use anyhow::bail;

use super::session::Session;
use crate::cluster::{Catalog, Owner, delete_owned};
use crate::release::{Need, Status, StoredRelease, Timestamp, UnreadableRecord};
use crate::render::ResourceId;

pub struct UninstallOptions<'a> {
    pub name: &'a str,
    pub keep_history: bool,
    pub description: Option<&'a str>,
}

/// What uninstalling did to the objects.
#[derive(Debug, Default)]
pub struct Uninstalled {
    pub deleted: Vec<ResourceId>,
    /// Annotated `rchart.io/resource-policy: keep`.
    pub kept: Vec<ResourceId>,
    /// Now stamped with another owner, so left alone.
    pub foreign: Vec<ResourceId>,
}

/// Uninstalls: the whole operation, lock included.
pub async fn uninstall(
    session: &Session,
    options: &UninstallOptions<'_>,
) -> anyhow::Result<Uninstalled> {
    session
        .locked("uninstall", options.name, async || {
            uninstall_unlocked(session, options).await
        })
        .await
}

/// The uninstall itself, for a caller that holds the lock.
pub(super) async fn uninstall_unlocked(
    session: &Session,
    options: &UninstallOptions<'_>,
) -> anyhow::Result<Uninstalled> {
    let store = &session.store;
    let explain = |e| session.explain(e);
    let history = session.existing_history(options.name).await?;
    history.require("uninstall", &[Need::Latest, Need::Deployed])?;
    let latest = history
        .latest()
        .expect("a readable latest revision")
        .clone();
    if latest.record.status == Status::Uninstalled {
        if options.keep_history {
            bail!("release \"{}\" is already uninstalled", options.name);
        }
        delete_records(session, &history.revisions, &history.unreadable).await?;
        return Ok(Uninstalled::default());
    }

    let inventory = history.live_inventory();
    let uninstalling = store
        .set_status(
            latest,
            Status::Uninstalling,
            "Deletion in progress".to_string(),
        )
        .await
        .map_err(explain)?;
    let owner = Owner {
        release: options.name,
        namespace: session.namespace(),
    };
    let to_delete: Vec<ResourceId> = inventory
        .resources
        .iter()
        .filter(|id| !inventory.kept.contains(*id))
        .cloned()
        .collect();
    let result = async {
        let mut catalog = Catalog::discover(&session.cluster).await?;
        let api_versions = to_delete.iter().map(|id| id.api_version.as_str());
        catalog
            .resolve_groups(&session.cluster, api_versions)
            .await?;
        anyhow::Ok(delete_owned(&session.cluster, &catalog, &to_delete, owner).await?)
    }
    .await;
    let deleted = match result {
        Ok(deleted) => deleted,
        Err(error) => {
            store
                .set_status(
                    uninstalling,
                    Status::Failed,
                    format!("Uninstall failed: {error:#}"),
                )
                .await
                .map_err(explain)?;
            return Err(error);
        }
    };

    if options.keep_history {
        let mut stored = uninstalling;
        stored.record.deleted = Some(Timestamp::now());
        let description = options
            .description
            .unwrap_or("Uninstallation complete")
            .to_string();
        let others: Vec<_> = history
            .revisions
            .iter()
            .filter(|s| s.record.revision != stored.record.revision)
            .cloned()
            .collect();
        store
            .set_status(stored, Status::Uninstalled, description)
            .await
            .map_err(explain)?;
        store
            .supersede_others(&others)
            .await
            .map_err(|e| session.explain_supersede(e))?;
    } else {
        let mut remaining = history.revisions;
        if let Some(last) = remaining.last_mut() {
            *last = uninstalling;
        }
        delete_records(session, &remaining, &history.unreadable).await?;
    }
    Ok(Uninstalled {
        deleted: deleted.deleted,
        kept: inventory.kept.into_iter().collect(),
        foreign: deleted.foreign,
    })
}

/// Deletes every record of the release, the unreadable ones too.
async fn delete_records(
    session: &Session,
    revisions: &[StoredRelease],
    unreadable: &[UnreadableRecord],
) -> anyhow::Result<()> {
    let explain = |e| session.explain(e);
    for stored in revisions {
        session.store.delete(stored).await.map_err(explain)?;
    }
    for entry in unreadable {
        session
            .store
            .delete_unreadable(entry)
            .await
            .map_err(explain)?;
    }
    Ok(())
}
