//! What every release command starts from: a cluster, the release store for the
//! namespace, and the release's history.

use std::path::Path;

use anyhow::{Context, bail};

use crate::cluster::{Catalog, Cluster, ConnectOptions, connect};
use crate::release::{ReleaseStore, Status, StoredRelease};
use crate::render::Capabilities;

/// A connection to the cluster, scoped to one namespace.
pub struct Session {
    pub cluster: Cluster,
    pub store: ReleaseStore,
}

/// Where to find the cluster and which namespace to act in.
#[derive(Debug, Clone, Default)]
pub struct Target<'a> {
    pub kubeconfig: Option<&'a Path>,
    pub context: Option<&'a str>,
    pub namespace: Option<&'a str>,
}

impl Session {
    pub async fn open(target: &Target<'_>) -> anyhow::Result<Self> {
        let cluster = connect(&ConnectOptions {
            kubeconfig: target.kubeconfig,
            context: target.context,
            namespace: target.namespace,
        })
        .await?;
        let store = ReleaseStore::new(cluster.client.clone(), &cluster.namespace);
        Ok(Self { cluster, store })
    }

    pub fn namespace(&self) -> &str {
        &self.cluster.namespace
    }

    /// Every readable revision of `name`, oldest first. An unreadable record makes this
    /// fail, naming its Secret: acting on a release whose history cannot be read could
    /// lose track of objects.
    pub async fn history(&self, name: &str) -> anyhow::Result<Vec<StoredRelease>> {
        let history = self
            .store
            .history(name)
            .await
            .map_err(|e| self.explain(e))?;
        if let Some(problem) = history.unreadable.into_iter().next() {
            return Err(anyhow::Error::from(problem))
                .with_context(|| format!("release \"{name}\" has a record that cannot be read"));
        }
        Ok(history.revisions)
    }

    /// The history, which must not be empty.
    pub async fn existing_history(&self, name: &str) -> anyhow::Result<Vec<StoredRelease>> {
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
    pub async fn discover(&self) -> anyhow::Result<(Catalog, Capabilities)> {
        let catalog = Catalog::discover(&self.cluster).await?;
        let version = self
            .cluster
            .client
            .apiserver_version()
            .await
            .map_err(|e| self.cluster.describe(e))?;
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
        Ok((catalog, capabilities))
    }

    /// Store errors that come from the connection say so, naming the server.
    pub fn explain(&self, error: crate::release::StoreError) -> anyhow::Error {
        match error.into_kube_error() {
            Ok(kube_error) => self.cluster.describe(kube_error).into(),
            Err(error) => error.into(),
        }
    }
}

/// Refuses to start while another operation's revision is still pending.
pub fn ensure_not_pending(name: &str, history: &[StoredRelease]) -> anyhow::Result<()> {
    if let Some(latest) = history.last()
        && latest.record.status.is_pending()
    {
        bail!(
            "another operation is in progress on release {name} (revision {}, since {}); if it was interrupted, `rchart rollback {name}` recovers",
            latest.record.revision,
            latest.record.last_deployed
        );
    }
    Ok(())
}

/// The revision that describes what runs now, if any.
pub fn deployed(history: &[StoredRelease]) -> Option<&StoredRelease> {
    history
        .iter()
        .rev()
        .find(|r| r.record.status == Status::Deployed)
}
