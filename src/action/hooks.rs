//! Running a revision's hooks ([`crate::render::hooks`]) around an operation, and for
//! `rchart test`.
//!
//! The hooks of one event run in groups of equal weight, lowest first; within a group
//! they run together, listed in install order, then by name. For each group:
//!
//! 1. the object a hook's last run left is deleted, and awaited until gone, when its
//!    policy is `before-hook-creation` (the default); an object that is there otherwise
//!    is an error, as is one that belongs to another release (unless `--take-ownership`);
//! 2. every hook is applied, and the record notes it `Running`;
//! 3. Jobs are awaited until `Complete` or `Failed`, Pods until `Succeeded` or `Failed`,
//!    with the progress `--wait` shows; other kinds are done once applied. The hooks of
//!    one event share `--timeout`;
//! 4. a hook that failed has the last lines of its Pod's log read (the failed Pod of a
//!    Job), then is deleted if its policy is `hook-failed`.
//!
//! The first group with a failure ends the event (`rchart test` goes on through every
//! group). Then the hooks that succeeded are deleted if their policy is `hook-succeeded`,
//! and the record keeps each hook's phase, start and completion time.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use futures_util::stream::{self, StreamExt};
use serde_json::Value;

use super::scope::check_planned_namespaces;
use super::session::Session;
use crate::chart::Metadata;
use crate::cluster::logs::{ContainerLog, Containers, LogAmount, pod_logs, run_pods};
use crate::cluster::wait::{ReadyState, WaitProgress};
use crate::cluster::{
    ApplyOptions, Catalog, ClusterError, Owner, Planned, WaitTarget, apply_all, delete_and_await,
    delete_owned, fetch_metadata, is_owned_by, plan, wait_until_finished,
};
use crate::release::{HookPhase, HookRecord, HookRun, StoredRelease, Timestamp};
use crate::render::{DeletePolicy, Hook, HookEvent, ResourceId, parse_multi_document};

/// Lines of a failed hook's log an error shows.
pub const FAILURE_LOG_LINES: i64 = 20;

/// Whether and how long an operation runs its hooks.
#[derive(Debug, Clone, Copy)]
pub struct HookOptions {
    /// Run them (not with `--no-hooks`).
    pub run: bool,
    /// How long the hooks of one event may take together.
    pub timeout: Duration,
}

/// Hooks of a revision, resolved and stamped for the cluster.
#[derive(Debug, Default)]
pub struct PlannedHooks {
    pub hooks: Vec<Hook>,
    pub planned: Vec<Planned>,
    /// Where each hook is among the record's hooks (all of them, in order, unless
    /// [`PlannedHooks::recorded_at`] says otherwise).
    pub in_record: Vec<usize>,
}

impl PlannedHooks {
    /// Says where each hook is among the record's hooks, when only some were planned.
    pub fn recorded_at(mut self, indices: Vec<usize>) -> Self {
        assert_eq!(indices.len(), self.hooks.len(), "one index per hook");
        self.in_record = indices;
        self
    }

    /// What the record keeps of each hook, not run yet.
    pub fn records(&self) -> Vec<HookRecord> {
        self.hooks
            .iter()
            .zip(&self.planned)
            .map(|(hook, planned)| HookRecord {
                resource: planned.id.clone(),
                source: hook.manifest.source.clone(),
                events: hook.events.clone(),
                weight: hook.weight,
                delete_policies: hook.delete_policies.clone(),
                manifest: hook.manifest.text.clone(),
                last_run: None,
            })
            .collect()
    }

    /// The indices of the hooks that run on any of `events`.
    pub fn running_on(&self, events: &[HookEvent]) -> Vec<usize> {
        (0..self.hooks.len())
            .filter(|&index| events.iter().any(|&e| self.hooks[index].runs_on(e)))
            .collect()
    }

    /// Whether `id` is the object of one of the hooks.
    pub fn contains(&self, id: &ResourceId) -> bool {
        self.planned
            .iter()
            .any(|p| p.id.object_key() == id.object_key())
    }
}

/// The hooks a record keeps, read back to run again (a rollback's, an uninstall's,
/// `rchart test`'s).
pub fn recorded_hooks(chart_name: &str, records: &[HookRecord]) -> anyhow::Result<Vec<Hook>> {
    records
        .iter()
        .map(|record| {
            let text = format!(
                "---\n# Source: {chart_name}/{}\n{}\n",
                record.source, record.manifest
            );
            let reading = || format!("reading the recorded hook {} back", record.resource);
            let mut manifests = parse_multi_document(chart_name, &text).with_context(reading)?;
            if manifests.len() != 1 {
                anyhow::bail!(
                    "{}: it holds {} objects, not one",
                    reading(),
                    manifests.len()
                );
            }
            let manifest = manifests.remove(0);
            Ok(Hook {
                manifest,
                events: record.events.clone(),
                weight: record.weight,
                delete_policies: record.delete_policies.clone(),
            })
        })
        .collect()
}

/// Resolves and stamps `hooks` for the cluster (asking about their API groups only when
/// there are hooks). With `chart`, hooks outside the release namespace are refused as
/// ordinary objects are.
pub async fn plan_hooks(
    session: &Session,
    catalog: &mut Catalog,
    hooks: Vec<Hook>,
    owner: Owner<'_>,
    chart: Option<&Metadata>,
) -> anyhow::Result<PlannedHooks> {
    if hooks.is_empty() {
        return Ok(PlannedHooks::default());
    }
    let api_versions = hooks.iter().map(|h| h.manifest.id.api_version.as_str());
    catalog
        .resolve_groups(&session.cluster, api_versions)
        .await?;
    let manifests: Vec<_> = hooks.iter().map(|h| h.manifest.clone()).collect();
    let planned = plan(catalog, &manifests, owner)?;
    if let Some(chart) = chart {
        check_planned_namespaces(chart, owner.namespace, &manifests, &planned)?;
    }
    let in_record = (0..hooks.len()).collect();
    Ok(PlannedHooks {
        hooks,
        planned,
        in_record,
    })
}

/// How one hook ran.
#[derive(Debug, Clone)]
pub struct HookResult {
    /// Its index among the planned hooks.
    pub index: usize,
    pub resource: ResourceId,
    pub phase: HookPhase,
    pub started: Timestamp,
    pub completed: Option<Timestamp>,
    /// Why it failed.
    pub message: Option<String>,
    /// It had not finished when the event's time was up.
    pub timed_out: bool,
    /// What its Pods printed: the last lines of a failed one, or every log when asked.
    pub logs: Vec<ContainerLog>,
}

/// What a run of one event's hooks should do besides running them.
#[derive(Debug, Clone, Default)]
pub struct RunSettings {
    /// Run every group even after one failed (`rchart test`).
    pub keep_going: bool,
    /// Read the whole log of every hook's Pods (`rchart test --logs`).
    pub all_logs: bool,
    /// Run only these hooks (by index among the planned ones); `None`: all of the event.
    pub only: Option<Vec<usize>>,
}

/// Runs the hooks of a revision in the cluster.
pub struct Runner<'a> {
    pub session: &'a Session,
    pub catalog: &'a Catalog,
    pub owner: Owner<'a>,
    pub hooks: &'a PlannedHooks,
    pub timeout: Duration,
    pub take_ownership: bool,
    pub force_conflicts: bool,
}

impl<'a> Runner<'a> {
    /// A runner that adopts nothing and takes no fields over.
    pub fn new(
        session: &'a Session,
        catalog: &'a Catalog,
        owner: Owner<'a>,
        hooks: &'a PlannedHooks,
        timeout: Duration,
    ) -> Self {
        Runner {
            session,
            catalog,
            owner,
            hooks,
            timeout,
            take_ownership: false,
            force_conflicts: false,
        }
    }

    /// Runs the hooks of `event` and fails, naming the hook, if one failed. `stored` is
    /// the revision's record: it keeps how each hook ran.
    pub async fn run_or_fail(
        &self,
        event: HookEvent,
        stored: &mut StoredRelease,
    ) -> anyhow::Result<()> {
        let results = self.run(event, stored, &RunSettings::default()).await?;
        match HooksFailed::from_results(event, self.timeout, &results) {
            Some(failed) => Err(failed.into()),
            None => Ok(()),
        }
    }

    /// Runs the hooks of `event` (see the module's steps) and answers how each ran, in the
    /// order they ran. Errors are for what is not a hook's own failure: the cluster out of
    /// reach, the record not written.
    pub async fn run(
        &self,
        event: HookEvent,
        stored: &mut StoredRelease,
        settings: &RunSettings,
    ) -> anyhow::Result<Vec<HookResult>> {
        let mut chosen: Vec<usize> = (0..self.hooks.hooks.len())
            .filter(|&index| self.hooks.hooks[index].runs_on(event))
            .filter(|index| {
                settings
                    .only
                    .as_ref()
                    .is_none_or(|only| only.contains(index))
            })
            .collect();
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        chosen.sort_by(|&a, &b| {
            self.hooks.hooks[a]
                .run_order()
                .cmp(&self.hooks.hooks[b].run_order())
        });
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut results: Vec<HookResult> = Vec::new();
        for group in
            chosen.chunk_by(|&a, &b| self.hooks.hooks[a].weight == self.hooks.hooks[b].weight)
        {
            if !settings.keep_going && results.iter().any(|r| r.phase != HookPhase::Succeeded) {
                break;
            }
            let ran = self
                .run_group(event, group, stored, deadline, settings)
                .await?;
            results.extend(ran);
        }
        // Hooks that succeeded go at the end, also when a later one failed (as Helm
        // does, helm#3714): the failed one is what is worth looking at.
        let succeeded: Vec<usize> = results
            .iter()
            .rev()
            .filter(|r| r.phase == HookPhase::Succeeded)
            .map(|r| r.index)
            .collect();
        self.delete_by_policy(&succeeded, DeletePolicy::HookSucceeded)
            .await;
        self.record(stored, &results).await?;
        Ok(results)
    }

    /// Runs one group of hooks of equal weight.
    async fn run_group(
        &self,
        event: HookEvent,
        group: &[usize],
        stored: &mut StoredRelease,
        deadline: tokio::time::Instant,
        settings: &RunSettings,
    ) -> anyhow::Result<Vec<HookResult>> {
        let cluster = &self.session.cluster;
        let planned = |index: usize| &self.hooks.planned[index];
        let described: Vec<String> = group.iter().map(|&i| planned(i).id.to_string()).collect();
        let weight = self.hooks.hooks[group[0]].weight;
        self.session.reporter.info(&match described.as_slice() {
            [one] => format!("running {event} hook {one}"),
            many => format!(
                "running {} {event} hooks of weight {weight}: {}",
                many.len(),
                many.join(", ")
            ),
        });
        let started = Timestamp::now();
        // In whole seconds, which is how a person reads the wait's progress.
        let remaining = || {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            Duration::from_secs(left.as_secs() + u64::from(left.subsec_nanos() > 0))
        };
        let mut results: BTreeMap<usize, HookResult> = BTreeMap::new();
        let fail = |results: &mut BTreeMap<usize, HookResult>, index: usize, message: String| {
            results.insert(
                index,
                HookResult {
                    index,
                    resource: planned(index).id.clone(),
                    phase: HookPhase::Failed,
                    started: started.clone(),
                    completed: Some(Timestamp::now()),
                    message: Some(message),
                    timed_out: false,
                    logs: Vec::new(),
                },
            );
        };
        if remaining().is_zero() {
            for &index in group {
                let message = format!(
                    "not started: the {event} hooks before it took all of --timeout ({})",
                    humantime::format_duration(self.timeout)
                );
                fail(&mut results, index, message);
            }
            return Ok(results.into_values().collect());
        }

        // 1. Make way: the object of an earlier run goes, if the policy says so.
        let targets: Vec<Planned> = group.iter().map(|&i| planned(i).clone()).collect();
        let live = fetch_metadata(cluster, &targets).await?;
        for (&index, live) in group.iter().zip(&live) {
            let Some(metadata) = live else { continue };
            let hook = &self.hooks.hooks[index];
            let ours = is_owned_by(metadata, self.owner) || self.take_ownership;
            let id = &planned(index).id;
            if !ours {
                fail(
                    &mut results,
                    index,
                    format!(
                        "{id} exists and belongs to something else; nothing was changed (--take-ownership adopts it)"
                    ),
                );
            } else if !hook.deletes_on(DeletePolicy::BeforeHookCreation) {
                fail(
                    &mut results,
                    index,
                    format!(
                        "{id} is still there from an earlier run; add before-hook-creation to its delete policy, or delete it"
                    ),
                );
            } else {
                let uid = metadata.uid.clone().unwrap_or_default();
                if let Err(error) =
                    delete_and_await(cluster, &planned(index).kind, id, &uid, remaining()).await
                {
                    if error.is_about_cluster() {
                        return Err(error.into());
                    }
                    fail(
                        &mut results,
                        index,
                        format!(
                            "the object of its earlier run could not be deleted: {}",
                            error.cause_text()
                        ),
                    );
                }
            }
        }

        // 2. Apply, and note the hooks running.
        let to_apply: Vec<usize> = group
            .iter()
            .copied()
            .filter(|index| !results.contains_key(index))
            .collect();
        let options = ApplyOptions {
            dry_run: false,
            force: self.force_conflicts,
            crd_timeout: self.timeout,
        };
        let applied: Vec<(usize, Result<Vec<Value>, ClusterError>)> = stream::iter(&to_apply)
            .map(|&index| async move {
                let answer =
                    apply_all(cluster, std::slice::from_ref(planned(index)), options).await;
                (index, answer)
            })
            .buffered(cluster.concurrency)
            .collect()
            .await;
        let mut uids: BTreeMap<usize, String> = BTreeMap::new();
        for (index, answer) in applied {
            match answer {
                Ok(answers) => {
                    let uid = answers
                        .first()
                        .and_then(|a| a.pointer("/metadata/uid"))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    uids.insert(index, uid.to_string());
                }
                Err(error) if error.is_about_cluster() => return Err(error.into()),
                Err(error) => fail(
                    &mut results,
                    index,
                    format!("the API server refused it: {}", error.cause_text()),
                ),
            }
        }
        for &index in uids.keys() {
            stored.record.hooks[self.hooks.in_record[index]].last_run = Some(HookRun {
                phase: HookPhase::Running,
                started: started.clone(),
                completed: None,
                message: None,
            });
        }
        if !uids.is_empty() {
            self.write(stored).await?;
        }

        // 3. Await the Jobs and Pods.
        let waited: Vec<WaitTarget> = uids
            .keys()
            .map(|&index| WaitTarget::from(planned(index)))
            .collect();
        let mut progress = Stamped {
            inner: self.session.reporter.wait_progress(),
            finished: BTreeMap::new(),
        };
        let states = if waited.is_empty() {
            Vec::new()
        } else {
            wait_until_finished(cluster, &waited, remaining(), &mut progress).await?
        };
        let states: BTreeMap<ResourceId, ReadyState> = states.into_iter().collect();
        for (&index, uid) in &uids {
            let id = &planned(index).id;
            let key = ResourceId {
                namespace: Some(
                    id.namespace
                        .clone()
                        .unwrap_or_else(|| cluster.namespace.clone()),
                ),
                ..id.clone()
            };
            let (phase, message, timed_out) = match states.get(&key) {
                None | Some(ReadyState::Ready) => (HookPhase::Succeeded, None, false),
                Some(ReadyState::Failed(reason)) => {
                    (HookPhase::Failed, Some(reason.clone()), false)
                }
                Some(ReadyState::Waiting(reason)) => {
                    (HookPhase::Failed, Some(reason.clone()), true)
                }
            };
            let completed = match phase {
                HookPhase::Succeeded | HookPhase::Failed if !timed_out => Some(
                    progress
                        .finished
                        .get(&key)
                        .cloned()
                        .unwrap_or_else(Timestamp::now),
                ),
                _ => None,
            };
            let runs = matches!(id.kind.as_str(), "Job" | "Pod");
            let logs = if !runs {
                Vec::new()
            } else if settings.all_logs {
                self.logs(id, uid, Containers::All, LogAmount::Whole).await
            } else if phase == HookPhase::Failed {
                self.logs(
                    id,
                    uid,
                    Containers::Failed,
                    LogAmount::Tail(FAILURE_LOG_LINES),
                )
                .await
            } else {
                Vec::new()
            };
            results.insert(
                index,
                HookResult {
                    index,
                    resource: id.clone(),
                    phase,
                    started: started.clone(),
                    completed,
                    message,
                    timed_out,
                    logs,
                },
            );
        }

        // 4. Failed hooks go once their logs are read, if their policy says so.
        let failed: Vec<usize> = results
            .values()
            .filter(|r| r.phase == HookPhase::Failed && uids.contains_key(&r.index))
            .map(|r| r.index)
            .collect();
        self.delete_by_policy(&failed, DeletePolicy::HookFailed)
            .await;
        // In the order they ran.
        Ok(group.iter().filter_map(|i| results.remove(i)).collect())
    }

    /// The logs of the Pods a hook ran in: for a failure, the failed Pod (the newest).
    async fn logs(
        &self,
        id: &ResourceId,
        uid: &str,
        containers: Containers,
        amount: LogAmount,
    ) -> Vec<ContainerLog> {
        let cluster = &self.session.cluster;
        let pods = match run_pods(cluster, id, uid).await {
            Ok(pods) => pods,
            Err(error) => {
                return vec![ContainerLog {
                    pod: id.to_string(),
                    container: String::new(),
                    text: Err(format!(
                        "its Pods could not be listed: {}",
                        error.cause_text()
                    )),
                    amount,
                }];
            }
        };
        let chosen: Vec<_> = match containers {
            Containers::All => pods.iter().collect(),
            Containers::Failed => {
                let failed = pods.iter().rev().find(|pod| {
                    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed")
                });
                failed.or(pods.last()).into_iter().collect()
            }
        };
        let mut logs = Vec::new();
        for pod in chosen {
            logs.extend(pod_logs(cluster, pod, containers, amount).await);
        }
        logs
    }

    /// Deletes the hooks among `indices` whose policy deletes them on `policy`'s
    /// occasion. A failure is only worth a warning: the next run deletes them first.
    async fn delete_by_policy(&self, indices: &[usize], policy: DeletePolicy) {
        let doomed: Vec<ResourceId> = indices
            .iter()
            .filter(|&&index| self.hooks.hooks[index].deletes_on(policy))
            // A CRD is never deleted: that would delete every object of its kind.
            .filter(|&&index| self.hooks.planned[index].id.kind != "CustomResourceDefinition")
            .map(|&index| self.hooks.planned[index].id.clone())
            .collect();
        if doomed.is_empty() {
            return;
        }
        if let Err(error) =
            delete_owned(&self.session.cluster, self.catalog, &doomed, self.owner).await
        {
            self.session
                .reporter
                .warn(&format!("hooks were not deleted ({policy}): {error}"));
        }
    }

    /// Keeps how each hook ran in the record.
    async fn record(
        &self,
        stored: &mut StoredRelease,
        results: &[HookResult],
    ) -> anyhow::Result<()> {
        for result in results {
            stored.record.hooks[self.hooks.in_record[result.index]].last_run = Some(HookRun {
                phase: result.phase,
                started: result.started.clone(),
                completed: result.completed.clone(),
                message: result.message.clone(),
            });
        }
        self.write(stored).await
    }

    async fn write(&self, stored: &mut StoredRelease) -> anyhow::Result<()> {
        *stored = self
            .session
            .store
            .update(stored)
            .await
            .map_err(|e| self.session.explain(e))?;
        Ok(())
    }
}

/// Passes a wait's progress on, noting when each resource finished.
struct Stamped {
    inner: Box<dyn WaitProgress>,
    finished: BTreeMap<ResourceId, Timestamp>,
}

impl WaitProgress for Stamped {
    fn begin(&mut self, resources: &[ResourceId], timeout: Duration) {
        self.inner.begin(resources, timeout);
    }

    fn update(&mut self, resource: &ResourceId, state: &ReadyState) {
        if !matches!(state, ReadyState::Waiting(_)) {
            self.finished
                .insert(resource.clone(), Timestamp::from_system(SystemTime::now()));
        }
        self.inner.update(resource, state);
    }

    fn warn(&mut self, message: &str) {
        self.inner.warn(message);
    }

    fn end(&mut self) {
        self.inner.end();
    }
}

/// Hooks of an event failed: which, why, and what their Pods printed last.
#[derive(Debug)]
pub struct HooksFailed {
    pub event: HookEvent,
    pub timeout: Duration,
    pub failures: Vec<HookResult>,
}

impl HooksFailed {
    /// The failures among `results`, if any.
    pub fn from_results(
        event: HookEvent,
        timeout: Duration,
        results: &[HookResult],
    ) -> Option<Self> {
        let failures: Vec<HookResult> = results
            .iter()
            .filter(|r| r.phase != HookPhase::Succeeded)
            .cloned()
            .collect();
        (!failures.is_empty()).then_some(HooksFailed {
            event,
            timeout,
            failures,
        })
    }

    /// One line per failed hook, without logs: what the revision's description says.
    pub fn description(&self) -> String {
        self.failures
            .iter()
            .map(|failure| self.headline(failure))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn headline(&self, failure: &HookResult) -> String {
        let event = self.event;
        let resource = &failure.resource;
        let message = failure.message.as_deref().unwrap_or("failed");
        if failure.timed_out {
            format!(
                "{event} hook {resource} did not finish within --timeout {}: {message}",
                humantime::format_duration(self.timeout)
            )
        } else {
            format!("{event} hook {resource} failed: {message}")
        }
    }
}

impl fmt::Display for HooksFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (number, failure) in self.failures.iter().enumerate() {
            if number > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.headline(failure))?;
            for log in &failure.logs {
                write!(f, "\n{}", LogTail(log))?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for HooksFailed {}

/// The last lines of a failed hook's container log, indented under a line naming it.
pub struct LogTail<'a>(pub &'a ContainerLog);

impl fmt::Display for LogTail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let log = self.0;
        let whose = if log.container.is_empty() {
            log.pod.clone()
        } else {
            format!("Pod {} (container {})", log.pod, log.container)
        };
        match &log.text {
            Err(why) => write!(f, "  the log of {whose} could not be read: {why}"),
            Ok(text) if text.trim().is_empty() => write!(f, "  {whose} printed nothing"),
            Ok(text) => {
                let lines: Vec<&str> = text.lines().collect();
                let shown = &lines[lines.len().saturating_sub(FAILURE_LOG_LINES as usize)..];
                let count = shown.len();
                let noun = if count == 1 { "line" } else { "lines" };
                write!(f, "  last {count} {noun} of the log of {whose}:")?;
                for line in shown {
                    write!(f, "\n    {line}")?;
                }
                Ok(())
            }
        }
    }
}
