//! Putting a new revision in place, shared by install, upgrade and rollback:
//! check ownership, record the revision as pending, apply, prune, then mark it deployed
//! (and its predecessor superseded) or failed.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Context;
use kube::api::DynamicObject;

use super::session::Session;
use crate::chart::{Chart, package};
use crate::cluster::wait::stderr_reporter;
use crate::cluster::{
    ApplyOptions, Catalog, ClusterError, Owner, Planned, WaitTarget, apply_all, delete_owned,
    fetch_live, foreign_objects, plan, wait_until_ready,
};
use crate::release::{ReleaseRecord, Status, StoreError, StoredRelease, Timestamp};
use crate::render::{Manifest, Rendered, ResourceId, to_multi_document};
use crate::values::ResolvedValues;

/// How a deployment should behave, from the command line.
#[derive(Debug, Clone, Copy)]
pub struct DeployOptions {
    /// Adopt objects that exist but belong to no release or another one.
    pub take_ownership: bool,
    /// Validate everything with the server, store nothing.
    pub dry_run: bool,
    /// Records to keep per release; older ones are deleted (never the deployed one).
    pub history_max: usize,
    /// Wait this long for every workload to become ready; `None`: do not wait.
    pub wait: Option<Duration>,
    /// Take over fields other field managers own (after `kubectl scale`, say).
    pub force_conflicts: bool,
}

/// A chart rendered for a new revision: what install and upgrade record and deploy.
pub struct Rendering {
    pub chart: Chart,
    pub values: ResolvedValues,
    pub rendered: Rendered,
}

/// How a new revision starts out in the record.
pub struct NewRevision<'a> {
    pub name: &'a str,
    pub revision: u64,
    /// `pending-install` or `pending-upgrade`.
    pub status: Status,
    pub description: String,
    /// Carried over from the revision being replaced; now for a first install.
    pub first_deployed: Timestamp,
}

impl Rendering {
    /// The pending record of `revision`, holding everything but the inventory, which
    /// [`deploy`] fills in.
    pub fn record(
        &self,
        revision: NewRevision<'_>,
        namespace: &str,
    ) -> anyhow::Result<ReleaseRecord> {
        let digest = package::package_digest(&self.chart.files, &self.chart.metadata.name, 0)?;
        Ok(ReleaseRecord {
            name: revision.name.to_string(),
            namespace: namespace.to_string(),
            revision: revision.revision,
            status: revision.status,
            description: revision.description,
            first_deployed: revision.first_deployed,
            last_deployed: Timestamp::now(),
            deleted: None,
            chart: self.chart.metadata.clone(),
            chart_digest: format!("sha256:{digest}"),
            user_values: self.values.user.clone(),
            merged_values: self.values.merged.clone(),
            manifest: self.manifest(),
            notes: self.rendered.notes.clone(),
            resources: Vec::new(),
            kept_resources: Vec::new(),
            rollback_of: None,
        })
    }

    /// The rendered manifests, as `rchart template` prints them.
    pub fn manifest(&self) -> String {
        to_multi_document(&self.chart.metadata.name, &self.rendered.manifests)
    }
}

/// What an install or upgrade did, for the command to print.
pub struct Outcome {
    /// The rendered manifests, as `rchart template` prints them.
    pub manifest: String,
    pub notes: Option<String>,
    /// The stored revision; `None` for a dry run.
    pub record: Option<ReleaseRecord>,
}

/// Records `rendering` as a new revision and deploys it.
pub async fn deploy_rendering(
    session: &Session,
    catalog: &mut Catalog,
    history: &[StoredRelease],
    rendering: Rendering,
    revision: NewRevision<'_>,
    success_description: String,
    options: DeployOptions,
) -> anyhow::Result<Outcome> {
    let record = rendering.record(revision, session.namespace())?;
    let manifest = record.manifest.clone();
    let notes = rendering.rendered.notes.clone();
    let deployment = Deployment {
        session,
        catalog,
        record,
        manifests: rendering.rendered.manifests,
        history,
        success_description,
    };
    let record = match deploy(deployment, options).await? {
        Deployed::Recorded(record) => Some(*record),
        Deployed::DryRun => None,
    };
    Ok(Outcome {
        manifest,
        notes,
        record,
    })
}

/// A revision about to be deployed.
pub struct Deployment<'a> {
    pub session: &'a Session,
    pub catalog: &'a mut Catalog,
    /// The new revision, with status pending-*; its inventory is filled in here.
    pub record: ReleaseRecord,
    pub manifests: Vec<Manifest>,
    /// The release's history before this revision.
    pub history: &'a [StoredRelease],
    /// What the description says once the revision is deployed.
    pub success_description: String,
}

pub enum Deployed {
    /// The revision is recorded as deployed.
    Recorded(Box<ReleaseRecord>),
    /// A dry run: the server accepted every object; nothing was stored.
    DryRun,
}

/// Objects that earlier revisions may have left in the cluster: those of the deployed
/// revision and of every later one (a failed upgrade can have applied some objects),
/// and nothing from before the last uninstall. Returns them and those kept by policy.
pub fn live_inventory(history: &[StoredRelease]) -> (BTreeSet<ResourceId>, BTreeSet<ResourceId>) {
    let after_uninstall = history
        .iter()
        .rposition(|r| r.record.status == Status::Uninstalled)
        .map_or(0, |index| index + 1);
    let from_deployed = history
        .iter()
        .rposition(|r| r.record.status == Status::Deployed)
        .unwrap_or(0);
    let mut resources = BTreeSet::new();
    let mut kept = BTreeSet::new();
    for stored in &history[after_uninstall.max(from_deployed)..] {
        resources.extend(stored.record.resources.iter().cloned());
        kept.extend(stored.record.kept_resources.iter().cloned());
    }
    (resources, kept)
}

/// The objects of `previous` that the new revision no longer has, except those kept by
/// policy: what pruning deletes. Objects are compared whatever API version names them.
pub fn obsolete(
    previous: &BTreeSet<ResourceId>,
    kept: &BTreeSet<ResourceId>,
    planned: &[Planned],
) -> Vec<ResourceId> {
    let current: BTreeSet<_> = planned.iter().map(|p| p.id.object_key()).collect();
    let kept: BTreeSet<_> = kept.iter().map(ResourceId::object_key).collect();
    previous
        .iter()
        .filter(|id| !current.contains(&id.object_key()) && !kept.contains(&id.object_key()))
        .cloned()
        .collect()
}

/// Lets the catalog resolve kinds that CRDs among `manifests` define, so a chart can
/// carry a CRD and objects of its kind: install order applies the CRD first.
fn learn_crds(catalog: &mut Catalog, manifests: &[Manifest]) {
    let crds: Vec<serde_json::Value> = manifests
        .iter()
        .filter(|m| {
            m.id.kind == "CustomResourceDefinition" && m.id.group() == "apiextensions.k8s.io"
        })
        .filter_map(|m| m.object().ok())
        .collect();
    catalog.learn_crds(&crds);
}

/// Reads every planned object and refuses, naming them, to touch objects that belong to
/// another release or to none, unless `take_ownership`; then those are applied with
/// force, which adopts their fields.
async fn claim(
    session: &Session,
    planned: &mut [Planned],
    owner: Owner<'_>,
    take_ownership: bool,
) -> anyhow::Result<Vec<Option<DynamicObject>>> {
    let live = fetch_live(&session.cluster, planned).await?;
    let foreign = foreign_objects(planned, &live, owner);
    if !take_ownership && !foreign.is_empty() {
        return Err(ClusterError::NotOurs(foreign).into());
    }
    let adopted: BTreeSet<&ResourceId> = foreign.iter().map(|f| &f.resource).collect();
    for item in planned.iter_mut() {
        item.force = adopted.contains(&item.id);
    }
    Ok(live)
}

/// A revision's objects ready to apply, and what earlier revisions left in the cluster.
pub struct Claimed {
    /// Resolved, stamped, and forced where ownership is taken.
    pub planned: Vec<Planned>,
    /// Each planned object as it is in the cluster now.
    pub live: Vec<Option<DynamicObject>>,
    /// What earlier revisions may have left, and those of them kept by policy.
    pub previous: BTreeSet<ResourceId>,
    pub previous_kept: BTreeSet<ResourceId>,
}

/// What applying a revision and comparing it with the cluster both start with: make the
/// kinds of its objects and of the earlier revisions' resolvable, then plan and claim.
pub async fn plan_and_claim(
    session: &Session,
    catalog: &mut Catalog,
    manifests: &[Manifest],
    history: &[StoredRelease],
    owner: Owner<'_>,
    take_ownership: bool,
) -> anyhow::Result<Claimed> {
    let (previous, previous_kept) = live_inventory(history);
    let api_versions = manifests.iter().map(|m| m.id.api_version.as_str());
    let previous_versions = previous.iter().map(|id| id.api_version.as_str());
    catalog
        .resolve_groups(&session.cluster, api_versions.chain(previous_versions))
        .await?;
    learn_crds(catalog, manifests);
    let mut planned = plan(catalog, manifests, owner)?;
    let live = claim(session, &mut planned, owner, take_ownership).await?;
    Ok(Claimed {
        planned,
        live,
        previous,
        previous_kept,
    })
}

pub async fn deploy(
    mut deployment: Deployment<'_>,
    options: DeployOptions,
) -> anyhow::Result<Deployed> {
    let session = deployment.session;
    let owner = Owner {
        release: &deployment.record.name,
        namespace: session.namespace(),
    };
    let Claimed {
        planned,
        previous,
        previous_kept,
        ..
    } = plan_and_claim(
        session,
        deployment.catalog,
        &deployment.manifests,
        deployment.history,
        owner,
        options.take_ownership,
    )
    .await?;
    let apply_options = ApplyOptions {
        dry_run: options.dry_run,
        force: options.force_conflicts,
    };
    if options.dry_run {
        apply_all(&session.cluster, &planned, apply_options).await?;
        return Ok(Deployed::DryRun);
    }

    deployment.record.resources = planned.iter().map(|p| p.id.clone()).collect();
    deployment.record.kept_resources = planned
        .iter()
        .filter(|p| p.keep)
        .map(|p| p.id.clone())
        .collect();
    let stored = session
        .store
        .create(&deployment.record)
        .await
        .map_err(|e| session.explain(e))?;
    let revision = stored.record.revision;

    let obsolete = obsolete(&previous, &previous_kept, &planned);
    let outcome = async {
        apply_all(&session.cluster, &planned, apply_options).await?;
        delete_owned(&session.cluster, deployment.catalog, &obsolete, owner).await?;
        if let Some(timeout) = options.wait {
            let targets: Vec<WaitTarget> = planned.iter().map(WaitTarget::from).collect();
            wait_until_ready(&session.cluster, &targets, timeout, &mut *stderr_reporter()).await?;
        }
        anyhow::Ok(())
    }
    .await;
    let recorded = match outcome {
        Ok(()) => {
            finish(
                session,
                stored.clone(),
                Status::Deployed,
                deployment.success_description,
            )
            .await
        }
        Err(error) => Err(error),
    };
    let deployed = match recorded {
        Ok(deployed) => deployed,
        Err(error) => {
            // The revision is not deployed, whether applying it or recording it failed.
            let description = format!("{error:#}");
            if let Err(record_error) = finish(session, stored, Status::Failed, description).await {
                eprintln!(
                    "error: revision {revision} could not be marked failed either: {}",
                    error_text(&record_error)
                );
            }
            return Err(error);
        }
    };
    // The revision is deployed: what follows is housekeeping, and its failures are not
    // the operation's.
    match supersede_others(session, deployment.history).await {
        Ok(mut history) => {
            history.push(deployed.clone());
            if let Err(error) = prune_history(session, &history, options.history_max).await {
                eprintln!(
                    "warning: old records were not all deleted: {}",
                    error_text(&error)
                );
            }
        }
        Err(error) => eprintln!("warning: {}", error_text(&error)),
    }
    Ok(Deployed::Recorded(Box::new(deployed.record)))
}

fn error_text(error: &anyhow::Error) -> String {
    crate::error_report(error)
        .trim_start_matches("error: ")
        .to_string()
}

/// Sets the final status (and description) of a revision. A record changed since it
/// was read is read again and the change made on the fresh copy: the release is locked,
/// so the change that got in between is someone editing by hand, not another operation.
/// Server errors are tried again too: a record left pending blocks the release.
pub async fn finish(
    session: &Session,
    stored: StoredRelease,
    status: Status,
    description: String,
) -> anyhow::Result<StoredRelease> {
    const ATTEMPTS: u32 = 3;
    let mut stored = stored;
    for attempt in 1..=ATTEMPTS {
        stored.record.status = status;
        stored.record.description = description.clone();
        let error = match session.store.update(&stored).await {
            Ok(updated) => return Ok(updated),
            Err(error) if attempt == ATTEMPTS => return Err(session.explain(error)),
            Err(error) => error,
        };
        match error {
            StoreError::Conflict { .. } => {}
            StoreError::Api { status, .. } if status.code >= 500 => {
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            StoreError::Request { .. } => {
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            other => return Err(session.explain(other)),
        }
        stored = session
            .store
            .load(&stored.record.name, stored.record.revision)
            .await
            .map_err(|e| session.explain(e))?;
    }
    unreachable!("the last attempt returns")
}

/// Marks every revision an operation left unfinished (pending, or uninstalling) as
/// failed, with `why` as its description. Returns the history as it now stands.
pub async fn fail_unfinished(
    session: &Session,
    history: Vec<StoredRelease>,
    why: impl Fn(&StoredRelease) -> String,
) -> anyhow::Result<Vec<StoredRelease>> {
    let mut updated = Vec::with_capacity(history.len());
    for stored in history {
        if stored.record.status.is_unfinished() {
            let description = why(&stored);
            updated.push(finish(session, stored, Status::Failed, description).await?);
        } else {
            updated.push(stored);
        }
    }
    Ok(updated)
}

/// Marks every earlier deployed revision superseded, so exactly one stays deployed.
/// Returns the history as it now stands.
pub async fn supersede_others(
    session: &Session,
    history: &[StoredRelease],
) -> anyhow::Result<Vec<StoredRelease>> {
    let mut updated = Vec::with_capacity(history.len());
    for stored in history {
        if stored.record.status != Status::Deployed {
            updated.push(stored.clone());
            continue;
        }
        let revision = stored.record.revision;
        let description = stored.record.description.clone();
        let stored = finish(session, stored.clone(), Status::Superseded, description)
            .await
            .with_context(|| format!("marking revision {revision} superseded"))?;
        updated.push(stored);
    }
    Ok(updated)
}

/// Keeps at most `max` records (0: no limit); the store never deletes the deployed one.
async fn prune_history(
    session: &Session,
    history: &[StoredRelease],
    max: usize,
) -> anyhow::Result<()> {
    if max > 0 && history.len() > max {
        session
            .store
            .prune_history(history, max)
            .await
            .map_err(|e| session.explain(e))?;
    }
    Ok(())
}
