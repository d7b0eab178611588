//! What every release command starts from: a cluster, the release store for the
//! namespace, a reporter for what a person should see, and the release lock.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};

use anyhow::{Context, bail};

use super::report::Reporter;
use crate::cluster::{Catalog, Cluster, ConnectOptions, connect};
use crate::release::{History, ReleaseStore, UnreadableRecord, lock};
use crate::render::Capabilities;

/// How long an interrupted operation may take to mark its revision failed.
const CLEAN_UP_TIME: Duration = Duration::from_secs(10);

/// A connection to the cluster, scoped to one namespace.
pub struct Session {
    pub cluster: Cluster,
    pub store: ReleaseStore,
    pub reporter: Arc<dyn Reporter>,
    lock_timeout: Duration,
    /// Unreadable records already reported, so each is reported once per command.
    reported_unreadable: Mutex<BTreeSet<String>>,
}

/// Where to find the cluster and which namespace to act in.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub kubeconfig: Option<&'a Path>,
    pub context: Option<&'a str>,
    pub namespace: Option<&'a str>,
    /// How long a release lock outlives a holder that stopped renewing it.
    pub lock_timeout: Duration,
    /// Requests in flight at once for many objects.
    pub concurrency: u16,
}

impl Session {
    pub async fn open(target: &Target<'_>, reporter: Arc<dyn Reporter>) -> anyhow::Result<Self> {
        let cluster = connect(&ConnectOptions {
            kubeconfig: target.kubeconfig,
            context: target.context,
            namespace: target.namespace,
            concurrency: target.concurrency,
        })
        .await?;
        let store = ReleaseStore::new(cluster.client.clone(), &cluster.namespace);
        Ok(Self {
            cluster,
            store,
            reporter,
            lock_timeout: target.lock_timeout,
            reported_unreadable: Mutex::default(),
        })
    }

    /// Runs `operation` holding the release's lock. Revisions left pending by a holder
    /// whose lock expired are marked failed first. Ctrl-C or SIGTERM stops the operation,
    /// marks its revision failed and releases the lock, so nothing is left stuck.
    pub async fn locked<T>(
        &self,
        verb: &str,
        release: &str,
        operation: impl AsyncFnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let holder = lock::holder_identity(&format!("rchart {verb} {release}"));
        let held = lock::acquire(
            &self.cluster.client,
            self.namespace(),
            release,
            &holder,
            self.lock_timeout,
        )
        .await
        .map_err(|e| self.lock_error(e))?;
        let result = async {
            if let Some(expired) = &held.took_over {
                self.reporter.warn(&format!(
                    "took over the lock of release {release} from {}: it was last renewed {} and had expired",
                    expired.holder, expired.renewed
                ));
                let why = format!(
                    "Abandoned: the operation of {} stopped without finishing (its lock, last renewed {}, expired); marked failed by {holder}",
                    expired.holder, expired.renewed
                );
                self.fail_pending(release, &why).await?;
            }
            tokio::select! {
                result = operation() => result,
                signal = interrupted() => {
                    self.reporter.info(&format!("{signal}: marking the revision in progress failed (again to stop at once)"));
                    let why = format!("Interrupted by {signal} before it finished");
                    // Bounded, and a second signal stops at once: a user who insists wins,
                    // and the lock then expires by itself.
                    tokio::select! {
                        marked = tokio::time::timeout(CLEAN_UP_TIME, self.fail_pending(release, &why)) => {
                            marked.map_err(|_| anyhow::anyhow!("the API server did not answer in time"))??;
                        }
                        again = interrupted() => bail!("interrupted by {signal}, then {again}; revisions left unfinished are marked failed by the next operation"),
                    }
                    bail!("interrupted by {signal}; the revision in progress was marked failed")
                }
            }
        }
        .await;
        let lease = held.name().to_string();
        match held.release().await {
            Ok(lock::Released::Released) => {}
            Ok(lock::Released::LostTo(holder)) => self.reporter.warn(&format!(
                "the release lock {lease} expired while this operation ran and is now held by {holder}"
            )),
            Err(error) => self.reporter.warn(&format!(
                "the lock of release {release} could not be released ({}); it expires by itself",
                self.cluster.describe(error)
            )),
        }
        result
    }

    /// Marks every unfinished revision of `release` failed, with `why` as its description.
    /// Returns the revisions it marked.
    pub(super) async fn fail_pending(&self, release: &str, why: &str) -> anyhow::Result<Vec<u64>> {
        let history = self.history(release).await?;
        let unfinished = history
            .revisions
            .iter()
            .filter(|r| r.record.status.is_unfinished())
            .map(|r| r.record.revision)
            .collect();
        self.store
            .fail_unfinished(history.revisions, |_| why.to_string())
            .await
            .map_err(|e| self.explain(e))?;
        Ok(unfinished)
    }

    fn lock_error(&self, error: lock::LockError) -> anyhow::Error {
        match error {
            lock::LockError::Kube(kube::Error::Api(status)) if status.code == 404 => {
                self.missing_namespace()
            }
            lock::LockError::Kube(error) => self.cluster.describe(error).into(),
            held => held.into(),
        }
    }

    fn missing_namespace(&self) -> anyhow::Error {
        anyhow::anyhow!(
            "namespace \"{}\" does not exist (install and upgrade create it with --create-namespace)",
            self.namespace()
        )
    }

    /// For a dry run, which takes no lock and so does not learn it that way: whether the
    /// session's namespace is missing, and then, unless `create` (`--create-namespace`),
    /// the error the real operation would give. With `create`, the server checks the
    /// Namespace as a dry run. A user who may not read Namespaces is taken to have one.
    pub async fn dry_run_namespace_missing(&self, create: bool) -> anyhow::Result<bool> {
        let api: Api<Namespace> = Api::all(self.cluster.client.clone());
        match api.get_metadata_opt(self.namespace()).await {
            Ok(Some(_)) | Err(kube::Error::Api(_)) => return Ok(false),
            Ok(None) => {}
            Err(e) => return Err(self.cluster.describe(e).into()),
        }
        if !create {
            return Err(self.missing_namespace());
        }
        self.post_namespace(true)
            .await
            .map_err(|e| self.cluster.describe(e))
            .with_context(|| format!("creating namespace \"{}\" (dry run)", self.namespace()))?;
        Ok(true)
    }

    /// Creates the session's namespace; one that already exists is fine.
    pub async fn create_namespace(&self) -> anyhow::Result<()> {
        match self.post_namespace(false).await {
            Ok(()) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
            Err(e) => Err(self.cluster.describe(e))
                .context(format!("creating namespace \"{}\"", self.namespace())),
        }
    }

    /// POSTs the session's Namespace; with `dry_run`, the server only checks it.
    async fn post_namespace(&self, dry_run: bool) -> kube::Result<()> {
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(self.namespace().to_string()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        let params = PostParams {
            dry_run,
            ..PostParams::default()
        };
        let api: Api<Namespace> = Api::all(self.cluster.client.clone());
        api.create(&params, &namespace).await.map(drop)
    }

    pub fn namespace(&self) -> &str {
        &self.cluster.namespace
    }

    /// Every revision of `name`, oldest first, and the records that cannot be read, each
    /// reported once as a warning. Whether an operation can do without a damaged record
    /// is its own decision ([`History::require`]).
    pub async fn history(&self, name: &str) -> anyhow::Result<History> {
        let history = self
            .store
            .history(name)
            .await
            .map_err(|e| self.explain(e))?;
        self.report_unreadable(&history.unreadable);
        Ok(history)
    }

    /// Warns once per command about each record that cannot be read.
    pub fn report_unreadable(&self, entries: &[UnreadableRecord]) {
        let mut reported = self
            .reported_unreadable
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for entry in entries {
            if reported.insert(format!("{}/{}", entry.namespace, entry.secret_name)) {
                self.reporter.warn(&entry.to_string());
            }
        }
    }

    /// The release's history and what the cluster serves, asked for at once: neither
    /// depends on the other, and over a slow link that saves a round trip.
    pub async fn history_and_discovery(&self, name: &str) -> anyhow::Result<(History, Discovered)> {
        futures_util::future::try_join(self.history(name), self.discover()).await
    }

    /// The history, which must not be empty, and the cluster's kinds, asked for at once.
    pub async fn existing_history_and_catalog(
        &self,
        name: &str,
    ) -> anyhow::Result<(History, Catalog)> {
        let catalog = async { Ok(Catalog::discover(&self.cluster).await?) };
        futures_util::future::try_join(self.existing_history(name), catalog).await
    }

    /// The history, which must not be empty.
    pub async fn existing_history(&self, name: &str) -> anyhow::Result<History> {
        let history = self.history(name).await?;
        if history.is_empty() {
            bail!(
                "release \"{name}\" not found in namespace \"{}\"",
                self.namespace()
            );
        }
        Ok(history)
    }

    /// Asks the cluster for its kinds and version: what templates see as `capabilities`.
    pub async fn discover(&self) -> anyhow::Result<Discovered> {
        let version = async {
            self.cluster
                .client
                .apiserver_version()
                .await
                .map_err(|e| self.cluster.describe(e))
        };
        let (catalog, version) =
            futures_util::future::try_join(Catalog::discover(&self.cluster), version).await?;
        let version_text = format!(
            "{}.{}",
            version.major.trim_end_matches('+'),
            version.minor.trim_end_matches('+')
        );
        let git_version = version.git_version.trim_start_matches('v').to_string();
        let capabilities = Capabilities::offline(
            Some(if git_version.is_empty() {
                &version_text
            } else {
                &git_version
            }),
            &[],
        )
        .map_err(anyhow::Error::msg)
        .context("reading the cluster's version")?;
        let capabilities = Capabilities {
            api_versions: catalog.api_versions().to_vec(),
            ..capabilities
        };
        Ok(Discovered {
            catalog,
            capabilities,
        })
    }

    /// A failure to mark an earlier revision superseded, explained like any store error.
    pub fn explain_supersede(&self, error: crate::release::SupersedeError) -> anyhow::Error {
        let revision = error.revision;
        self.explain(error.source)
            .context(format!("marking revision {revision} superseded"))
    }

    /// Store errors that come from the connection say so, naming the server.
    pub fn explain(&self, error: crate::release::StoreError) -> anyhow::Error {
        match error.into_kube_error() {
            Ok(kube_error) => self.cluster.describe(kube_error).into(),
            Err(error) => error.into(),
        }
    }
}

/// What the cluster serves: its kinds, and what templates see as `capabilities`.
pub struct Discovered {
    pub catalog: Catalog,
    pub capabilities: Capabilities,
}

/// Resolves when the process is asked to stop, naming the signal.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut terminate), Ok(mut interrupt)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    }
}
