//! `rchart uninstall`: delete the release's objects, then its records (or keep them,
//! marked uninstalled).
//!
//! An uninstall runs, top to bottom: take the release's lock; read the history (an
//! uninstalled release only loses its kept records); mark the latest revision
//! uninstalling; run its `pre-delete` hooks (a failure marks it failed and deletes
//! nothing); delete the objects the release may have left, in reverse install order,
//! except those kept by policy or now owned by someone else; run its `post-delete` hooks;
//! delete the hook objects its revisions left, except those kept by policy; then delete
//! the records, or keep them marked uninstalled; release the lock. A failed `post-delete`
//! hook still ends with the release uninstalled, and is then reported as the error.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::bail;

use super::hooks::{HookOptions, HooksFailed, Runner, plan_hooks, recorded_hooks};
use super::session::Session;
use crate::cluster::{Catalog, Owner, RESOURCE_POLICY_ANNOTATION, delete_owned};
use crate::release::{
    History, HookRecord, Need, ReleaseRecord, Status, StoredRelease, Timestamp, UnreadableRecord,
};
use crate::render::{HookEvent, ResourceId};

pub struct UninstallOptions<'a> {
    pub name: &'a str,
    pub keep_history: bool,
    pub description: Option<&'a str>,
    /// Whether the `pre-delete` and `post-delete` hooks run, and how long each may take.
    pub hooks: HookOptions,
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
    let mut uninstalling = uninstalling;
    let mut post_delete_failure = None;
    let result = async {
        let mut catalog = Catalog::discover(&session.cluster).await?;
        let api_versions = to_delete.iter().map(|id| id.api_version.as_str());
        catalog
            .resolve_groups(&session.cluster, api_versions)
            .await?;
        // Only the hooks that run are planned: a hook of another event whose kind the
        // cluster no longer serves must not stand in the way of an uninstall.
        let record = &uninstalling.record;
        let running: Vec<usize> = (0..record.hooks.len())
            .filter(|_| options.hooks.run)
            .filter(|&i| {
                let events = &record.hooks[i].events;
                events.contains(&HookEvent::PreDelete) || events.contains(&HookEvent::PostDelete)
            })
            .collect();
        let chosen: Vec<HookRecord> = running.iter().map(|&i| record.hooks[i].clone()).collect();
        let hooks = recorded_hooks(&record.chart.name, &chosen)?;
        let hooks = plan_hooks(session, &mut catalog, hooks, owner, None)
            .await?
            .recorded_at(running);
        let runner = Runner::new(session, &catalog, owner, &hooks, options.hooks.timeout);
        let run_hooks = !hooks.hooks.is_empty();
        if run_hooks {
            runner
                .run_or_fail(HookEvent::PreDelete, &mut uninstalling)
                .await?;
        }
        let mut deleted = delete_owned(&session.cluster, &catalog, &to_delete, owner).await?;
        if run_hooks
            && let Err(error) = runner
                .run_or_fail(HookEvent::PostDelete, &mut uninstalling)
                .await
        {
            post_delete_failure = Some(error);
        }
        let (leftovers, kept) =
            leftover_hooks(session, &mut catalog, &history, &uninstalling.record).await?;
        let cleaned = delete_owned(&session.cluster, &catalog, &leftovers, owner).await?;
        deleted.deleted.extend(cleaned.deleted);
        deleted.foreign.extend(cleaned.foreign);
        anyhow::Ok((deleted, kept))
    }
    .await;
    let (deleted, kept_hooks) = match result {
        Ok(deleted) => deleted,
        Err(error) => {
            let why = match error.downcast_ref::<HooksFailed>() {
                Some(failed) => failed.description(),
                None => format!("{error:#}"),
            };
            store
                .set_status(
                    uninstalling,
                    Status::Failed,
                    format!("Uninstall failed: {why}"),
                )
                .await
                .map_err(explain)?;
            return Err(error);
        }
    };
    let description = |default: &str| -> String {
        let description = options.description.unwrap_or(default);
        match &post_delete_failure {
            Some(error) => match error.downcast_ref::<HooksFailed>() {
                Some(failed) => format!("{description}, but {}", failed.description()),
                None => format!("{description}, but {error:#}"),
            },
            None => description.to_string(),
        }
    };

    if options.keep_history {
        let mut stored = uninstalling;
        stored.record.deleted = Some(Timestamp::now());
        let description = description("Uninstallation complete");
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
    if let Some(error) = post_delete_failure {
        return Err(error.context(format!(
            "release \"{}\" was uninstalled, but a post-delete hook failed",
            options.name
        )));
    }
    let mut kept: Vec<ResourceId> = inventory.kept.into_iter().collect();
    kept.extend(kept_hooks);
    Ok(Uninstalled {
        deleted: deleted.deleted,
        kept,
        foreign: deleted.foreign,
    })
}

/// The hook objects the release's revisions may have left (the hooks that ran since its
/// last uninstall), to delete, and those of them kept by policy (`rchart.io/resource-policy: keep`, and
/// CRDs). The newest revision's hook of an object decides. Objects of kinds the cluster
/// no longer serves are gone already ([`delete_owned`] says so).
async fn leftover_hooks(
    session: &Session,
    catalog: &mut Catalog,
    history: &History,
    latest: &ReleaseRecord,
) -> anyhow::Result<(Vec<ResourceId>, Vec<ResourceId>)> {
    let after_uninstall = history
        .revisions
        .iter()
        .rposition(|r| r.record.status == Status::Uninstalled)
        .map_or(0, |index| index + 1);
    let mut newest = BTreeMap::new();
    let mut ran = BTreeSet::new();
    // The latest revision as it is now: this uninstall's hooks ran in it.
    let earlier = history.revisions[after_uninstall..]
        .iter()
        .map(|stored| &stored.record)
        .filter(|record| record.revision != latest.revision);
    for record in earlier.chain([latest]) {
        for hook in &record.hooks {
            let key = hook.resource.object_key();
            if hook.last_run.is_some() {
                ran.insert(key);
            }
            newest.insert(key, (&record.chart.name, hook));
        }
    }
    // A hook no revision records a run of left nothing to delete.
    newest.retain(|key, _| ran.contains(key));
    let api_versions = newest
        .values()
        .map(|(_, hook)| hook.resource.api_version.as_str());
    catalog
        .resolve_groups(&session.cluster, api_versions)
        .await?;
    let mut leftovers = Vec::new();
    let mut kept = Vec::new();
    for (chart, hook) in newest.into_values() {
        if is_kept(chart, hook) {
            kept.push(hook.resource.clone());
        } else {
            leftovers.push(hook.resource.clone());
        }
    }
    Ok((leftovers, kept))
}

/// Whether a recorded hook's object is kept by policy: a CRD, or annotated
/// `rchart.io/resource-policy: keep`. One whose manifest cannot be read is not.
fn is_kept(chart: &str, hook: &HookRecord) -> bool {
    if hook.resource.kind == "CustomResourceDefinition" {
        return true;
    }
    let object = recorded_hooks(chart, std::slice::from_ref(hook))
        .ok()
        .and_then(|hooks| hooks.into_iter().next())
        .and_then(|hook| hook.manifest.object().ok());
    object
        .as_ref()
        .and_then(|o| o.pointer("/metadata/annotations"))
        .and_then(|a| a.get(RESOURCE_POLICY_ANNOTATION))
        .and_then(|v| v.as_str())
        == Some("keep")
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
