//! `rchart uninstall`: delete the release's objects, then its records (or keep them,
//! marked uninstalled).

use anyhow::bail;

use super::deploy::{finish, live_inventory, supersede_others};
use super::session::Session;
use crate::cluster::{Catalog, Owner, delete_owned};
use crate::release::{Status, Timestamp};
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

pub async fn uninstall(
    session: &Session,
    options: &UninstallOptions<'_>,
) -> anyhow::Result<Uninstalled> {
    let history = session.existing_history(options.name).await?;
    let latest = history.last().expect("history is not empty").clone();
    if latest.record.status == Status::Uninstalled {
        if options.keep_history {
            bail!("release \"{}\" is already uninstalled", options.name);
        }
        delete_records(session, &history).await?;
        return Ok(Uninstalled::default());
    }

    let (inventory, kept) = live_inventory(&history);
    let uninstalling = finish(
        session,
        latest,
        Status::Uninstalling,
        "Deletion in progress".to_string(),
    )
    .await?;
    let owner = Owner {
        release: options.name,
        namespace: session.namespace(),
    };
    let to_delete: Vec<ResourceId> = inventory
        .iter()
        .filter(|id| !kept.contains(*id))
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
            finish(
                session,
                uninstalling,
                Status::Failed,
                format!("Uninstall failed: {error:#}"),
            )
            .await?;
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
            .iter()
            .filter(|s| s.record.revision != stored.record.revision)
            .cloned()
            .collect();
        finish(session, stored, Status::Uninstalled, description).await?;
        supersede_others(session, &others).await?;
    } else {
        let mut remaining = history;
        if let Some(last) = remaining.last_mut() {
            *last = uninstalling;
        }
        delete_records(session, &remaining).await?;
    }
    Ok(Uninstalled {
        deleted: deleted.deleted,
        kept: kept.into_iter().collect(),
        foreign: deleted.foreign,
    })
}

async fn delete_records(
    session: &Session,
    history: &[crate::release::StoredRelease],
) -> anyhow::Result<()> {
    for stored in history {
        session
            .store
            .delete(stored)
            .await
            .map_err(|e| session.explain(e))?;
    }
    Ok(())
}
