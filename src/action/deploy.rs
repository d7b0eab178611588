//! Putting a new revision in place, shared by install, upgrade and rollback:
//! check ownership (of the hooks that will run too), have the server check every object
//! and every new hook in a dry run, record the revision as pending, run the `pre-*` hooks,
//! apply, prune, wait if asked, run the `post-*` hooks, then mark it deployed (and its
//! predecessor superseded) or failed. Hooks are in the record, never in the inventory:
//! pruning leaves them alone ([`super::hooks`]).

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::hooks::{HookOptions, HooksFailed, PlannedHooks, Runner, plan_hooks};
use super::preflight::check_references;
use super::scope::check_planned_namespaces;
use super::session::Session;
use crate::chart::{Chart, Metadata, package};
use crate::cluster::{
    ApplyOptions, Catalog, Cluster, ClusterError, Owner, Planned, WaitTarget, apply_all,
    created_namespaces, delete_owned, dry_run_all, fetch_metadata, foreign_objects, plan,
    wait_until_ready,
};
use crate::oci::ChartOrigin;
use crate::release::{History, LiveInventory, ReleaseRecord, Status, Timestamp};
use crate::render::{Hook, HookEvent, Manifest, Rendered, ResourceId, to_multi_document};
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
    /// Wait for every workload to become ready.
    pub wait: bool,
    /// How long waiting may take: for the workloads with `wait`, and always for the
    /// CustomResourceDefinitions the chart carries to be established.
    pub timeout: Duration,
    /// Take over fields other field managers own (after `kubectl scale`, say).
    pub force_conflicts: bool,
    /// A dry run into a namespace that `--create-namespace` would create: the server
    /// cannot check the objects in it, so they are left out of the check.
    pub namespace_missing: bool,
    /// A Secret or ConfigMap a workload refers to, that neither the chart renders nor the
    /// namespace holds, is an error rather than a warning (install and upgrade).
    pub strict_refs: bool,
    /// Whether the operation's hooks run, and how long those of each event may take.
    pub hooks: HookOptions,
}

/// A chart rendered for a new revision: what install and upgrade record and deploy.
pub struct ChartRevision {
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
    /// Where an `oci://` chart came from.
    pub chart_origin: Option<ChartOrigin>,
}

impl ChartRevision {
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
            chart_origin: revision.chart_origin,
            user_values: self.values.user.clone(),
            merged_values: self.values.merged.clone(),
            manifest: self.manifest(),
            notes: self.rendered.notes.clone(),
            resources: Vec::new(),
            kept_resources: Vec::new(),
            rollback_of: None,
            hooks: Vec::new(),
        })
    }

    /// The rendered manifests without the hooks: what the record keeps as its manifest.
    pub fn manifest(&self) -> String {
        to_multi_document(&self.chart.metadata.name, &self.rendered.manifests)
    }

    /// The rendered manifests, then the hooks, as `rchart template` prints them.
    pub fn printed(&self) -> String {
        let hooks: Vec<Manifest> = self
            .rendered
            .hooks
            .iter()
            .map(|hook| hook.manifest.clone())
            .collect();
        self.manifest() + &to_multi_document(&self.chart.metadata.name, &hooks)
    }
}

/// What an install or upgrade did, for the command to print.
pub struct Outcome {
    /// The rendered manifests, then the hooks, as `rchart template` prints them.
    pub manifest: String,
    pub notes: Option<String>,
    /// The stored revision; `None` for a dry run.
    pub record: Option<ReleaseRecord>,
    /// A dry run left out the objects in the release namespace, as it does not exist yet.
    pub namespace_missing: bool,
}

/// Records a rendered chart as a new revision and deploys it.
pub async fn deploy_chart_revision(
    session: &Session,
    catalog: &mut Catalog,
    history: &History,
    content: ChartRevision,
    revision: NewRevision<'_>,
    success_description: String,
    options: DeployOptions,
) -> anyhow::Result<Outcome> {
    check_references(session, &content.rendered.manifests, options.strict_refs).await?;
    let record = content.record(revision, session.namespace())?;
    let manifest = content.printed();
    let notes = content.rendered.notes.clone();
    let pending = PendingRevision {
        session,
        catalog,
        record,
        manifests: content.rendered.manifests,
        hooks: content.rendered.hooks,
        history,
        success_description,
    };
    let record = match deploy(pending, options).await? {
        Deployed::Recorded(record) => Some(*record),
        Deployed::DryRun => None,
    };
    Ok(Outcome {
        manifest,
        notes,
        namespace_missing: record.is_none() && options.namespace_missing,
        record,
    })
}

/// A revision about to be deployed.
pub struct PendingRevision<'a> {
    pub session: &'a Session,
    pub catalog: &'a mut Catalog,
    /// The new revision, with status pending-*; its inventory is filled in here.
    pub record: ReleaseRecord,
    pub manifests: Vec<Manifest>,
    pub hooks: Vec<Hook>,
    /// The release's history before this revision.
    pub history: &'a History,
    /// What the description says once the revision is deployed.
    pub success_description: String,
}

pub enum Deployed {
    /// The revision is recorded as deployed.
    Recorded(Box<ReleaseRecord>),
    /// A dry run: the server accepted every object; nothing was stored.
    DryRun,
}

/// The objects of `previous` that the new revision no longer has, except those kept by
/// policy: what pruning deletes. Objects are compared whatever API version names them.
pub fn obsolete(previous: &LiveInventory, planned: &[Planned]) -> Vec<ResourceId> {
    let current: BTreeSet<_> = planned.iter().map(|p| p.id.object_key()).collect();
    let kept: BTreeSet<_> = previous.kept.iter().map(ResourceId::object_key).collect();
    previous
        .resources
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
) -> anyhow::Result<Vec<Option<ObjectMeta>>> {
    let live = fetch_metadata(&session.cluster, planned).await?;
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
    /// The metadata of each planned object as it is in the cluster now.
    pub live: Vec<Option<ObjectMeta>>,
    /// What earlier revisions may have left, and those of them kept by policy.
    pub previous: LiveInventory,
}

/// What applying a revision and comparing it with the cluster both start with: make the
/// kinds of its objects and of the earlier revisions' resolvable, then plan and claim.
/// With `chart`, objects it renders outside the release namespace are refused (as the
/// cluster tells which kinds are namespaced); a rollback restores what was recorded.
pub async fn plan_and_claim(
    session: &Session,
    catalog: &mut Catalog,
    manifests: &[Manifest],
    history: &History,
    owner: Owner<'_>,
    take_ownership: bool,
    chart: Option<&Metadata>,
) -> anyhow::Result<Claimed> {
    let previous = history.live_inventory();
    let api_versions = manifests.iter().map(|m| m.id.api_version.as_str());
    let previous_versions = previous.resources.iter().map(|id| id.api_version.as_str());
    catalog
        .resolve_groups(&session.cluster, api_versions.chain(previous_versions))
        .await?;
    learn_crds(catalog, manifests);
    let mut planned = plan(catalog, manifests, owner)?;
    if let Some(chart) = chart {
        check_planned_namespaces(chart, owner.namespace, manifests, &planned)?;
    }
    let live = claim(session, &mut planned, owner, take_ownership).await?;
    Ok(Claimed {
        planned,
        live,
        previous,
    })
}

/// Has the server check every object with a dry-run apply before anything changes, and
/// refuses with every rejection at once: a conflict with another field manager, an
/// invalid field, an admission webhook's denial, a quota. `new_hooks` are the hooks the
/// operation runs whose objects do not exist: a hook whose last run's object is still
/// there is deleted and created again, and cannot be checked against that old object
/// (a Job's template cannot change), so it is checked when it is created. Objects in
/// `missing_namespace` cannot be checked before it exists.
async fn preflight(
    cluster: &Cluster,
    planned: &[Planned],
    live: &[Option<ObjectMeta>],
    new_hooks: &[Planned],
    missing_namespace: Option<&str>,
    force_conflicts: bool,
) -> Result<(), ClusterError> {
    let absent = vec![None; new_hooks.len()];
    let (objects, hooks) = futures_util::future::join(
        dry_run_all(cluster, planned, force_conflicts, live, missing_namespace),
        dry_run_all(
            cluster,
            new_hooks,
            force_conflicts,
            &absent,
            missing_namespace,
        ),
    )
    .await;
    let rejected = objects
        .into_iter()
        .chain(hooks)
        .flatten()
        .filter_map(Result::err)
        .collect();
    match ClusterError::rejected(rejected) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

pub async fn deploy(
    mut pending: PendingRevision<'_>,
    options: DeployOptions,
) -> anyhow::Result<Deployed> {
    let session = pending.session;
    let store = &session.store;
    let owner = Owner {
        release: &pending.record.name,
        namespace: session.namespace(),
    };
    // A rollback puts back what was recorded, as it was; the chart of an install or
    // upgrade keeps its objects in the release namespace.
    let scoped_by = pending
        .record
        .rollback_of
        .is_none()
        .then(|| pending.record.chart.clone());
    let Claimed {
        planned,
        live,
        previous,
    } = plan_and_claim(
        session,
        pending.catalog,
        &pending.manifests,
        pending.history,
        owner,
        options.take_ownership,
        scoped_by.as_ref(),
    )
    .await?;
    let events = hook_events(pending.record.status);
    let hooks = plan_hooks(
        session,
        pending.catalog,
        std::mem::take(&mut pending.hooks),
        owner,
        scoped_by.as_ref(),
    )
    .await?;
    let running = if options.hooks.run {
        hooks.running_on(&events)
    } else {
        Vec::new()
    };
    let new_hooks = claim_hooks(session, &hooks, &running, &planned, &live, owner, options).await?;
    // Nothing is half-applied: whatever the server would refuse stops the operation here.
    let missing_namespace = options.namespace_missing.then_some(owner.namespace);
    preflight(
        &session.cluster,
        &planned,
        &live,
        &new_hooks,
        missing_namespace,
        options.force_conflicts,
    )
    .await?;
    if options.dry_run {
        return Ok(Deployed::DryRun);
    }
    let apply_options = ApplyOptions {
        dry_run: false,
        force: options.force_conflicts,
        crd_timeout: options.timeout,
    };

    pending.record.resources = planned.iter().map(|p| p.id.clone()).collect();
    pending.record.kept_resources = planned
        .iter()
        .filter(|p| p.keep)
        .map(|p| p.id.clone())
        .collect();
    pending.record.hooks = hooks.records();
    let mut stored = store
        .create(&pending.record)
        .await
        .map_err(|e| session.explain(e))?;
    let revision = stored.record.revision;

    // Hooks are never pruned as ordinary objects, also when one was ordinary before.
    let mut obsolete = obsolete(&previous, &planned);
    obsolete.retain(|id| !hooks.contains(id));
    let catalog: &Catalog = pending.catalog;
    let runner = Runner {
        take_ownership: options.take_ownership,
        force_conflicts: options.force_conflicts,
        ..Runner::new(session, catalog, owner, &hooks, options.hooks.timeout)
    };
    let run_hooks = options.hooks.run && !hooks.hooks.is_empty();
    let outcome = async {
        if run_hooks {
            runner.run_or_fail(events[0], &mut stored).await?;
        }
        apply_all(&session.cluster, &planned, apply_options).await?;
        delete_owned(&session.cluster, catalog, &obsolete, owner).await?;
        if options.wait {
            let targets: Vec<WaitTarget> = planned.iter().map(WaitTarget::from).collect();
            let mut progress = session.reporter.wait_progress();
            wait_until_ready(&session.cluster, &targets, options.timeout, &mut *progress).await?;
        }
        if run_hooks {
            runner.run_or_fail(events[1], &mut stored).await?;
        }
        anyhow::Ok(())
    }
    .await;
    let recorded = match outcome {
        Ok(()) => store
            .set_status(
                stored.clone(),
                Status::Deployed,
                pending.success_description,
            )
            .await
            .map_err(|e| session.explain(e)),
        Err(error) => Err(error),
    };
    let deployed = match recorded {
        Ok(deployed) => deployed,
        Err(error) => {
            // The revision is not deployed, whether applying it or recording it failed.
            let description = match error.downcast_ref::<HooksFailed>() {
                Some(failed) => failed.description(),
                None => format!("{error:#}"),
            };
            // A failed rollback still says what it was, as a successful one does.
            let description = match stored.record.rollback_of {
                Some(target) => format!("Rollback to {target} failed: {description}"),
                None => description,
            };
            if let Err(record_error) = store.set_status(stored, Status::Failed, description).await {
                session.reporter.error(&format!(
                    "revision {revision} could not be marked failed either: {}",
                    error_text(&session.explain(record_error))
                ));
            }
            return Err(error);
        }
    };
    // The revision is deployed: what follows is housekeeping, and its failures are not
    // the operation's.
    match store.supersede_others(&pending.history.revisions).await {
        Ok(mut revisions) => {
            revisions.push(deployed.clone());
            if let Err(error) = store.prune_history(&revisions, options.history_max).await {
                session.reporter.warn(&format!(
                    "old records were not all deleted: {}",
                    error_text(&session.explain(error))
                ));
            }
        }
        Err(error) => session
            .reporter
            .warn(&error_text(&session.explain_supersede(error))),
    }
    Ok(Deployed::Recorded(Box::new(deployed.record)))
}

/// The hook events around a revision of this status: install, upgrade or rollback.
fn hook_events(status: Status) -> [HookEvent; 2] {
    match status {
        Status::PendingUpgrade => [HookEvent::PreUpgrade, HookEvent::PostUpgrade],
        Status::PendingRollback => [HookEvent::PreRollback, HookEvent::PostRollback],
        _ => [HookEvent::PreInstall, HookEvent::PostInstall],
    }
}

/// Reads the objects of the hooks the operation runs (`running`) and refuses, with the
/// ordinary objects' verdict, hooks whose objects belong to another release or to none,
/// unless `take_ownership`. Answers the hooks whose objects do not exist, for the dry
/// run to check; none are read when no hook runs.
async fn claim_hooks(
    session: &Session,
    hooks: &PlannedHooks,
    running: &[usize],
    planned: &[Planned],
    live: &[Option<ObjectMeta>],
    owner: Owner<'_>,
    options: DeployOptions,
) -> anyhow::Result<Vec<Planned>> {
    if running.is_empty() {
        return Ok(Vec::new());
    }
    let targets: Vec<Planned> = running.iter().map(|&i| hooks.planned[i].clone()).collect();
    let hooks_live = fetch_metadata(&session.cluster, &targets).await?;
    let foreign = foreign_objects(&targets, &hooks_live, owner);
    if !options.take_ownership && !foreign.is_empty() {
        return Err(ClusterError::NotOurs(foreign).into());
    }
    // A namespace the chart creates does not exist for the dry run yet.
    let created_namespaces = created_namespaces(planned, live);
    Ok(targets
        .into_iter()
        .zip(hooks_live)
        .filter(|(hook, live)| {
            live.is_none()
                && !hook
                    .id
                    .namespace
                    .as_deref()
                    .is_some_and(|ns| created_namespaces.contains(ns))
        })
        .map(|(hook, _)| hook)
        .collect())
}

/// An error and its causes on one line, without the `error: ` a report starts with.
pub fn error_text(error: &anyhow::Error) -> String {
    crate::error_report(error)
        .trim_start_matches("error: ")
        .to_string()
}
