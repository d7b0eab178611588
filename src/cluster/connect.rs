//! Reaching a cluster the way kubectl does: `--kubeconfig`, else `$KUBECONFIG`, else
//! `~/.kube/config`; `--kube-context`, else the current context; the namespace from `-n`,
//! else the context's, else `default`.

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::ClusterError;

/// A client for one cluster, with what commands need to describe it.
#[derive(Clone)]
pub struct Cluster {
    pub client: kube::Client,
    /// The namespace commands act in unless told otherwise.
    pub namespace: String,
    /// The API server URL, for messages.
    pub server: String,
    /// Requests in flight at once when many objects are read, checked, applied or
    /// deleted.
    pub concurrency: usize,
}

/// Requests in flight at once unless `--concurrency` says otherwise. On a default API
/// server (600 seats: 400 read + 200 mutating in flight), API Priority and Fairness gives
/// the level a person's requests fall in (`global-default`, 20 of 245 shares) 49 seats
/// of its own and lets it borrow what idle levels lend (`workload-low` lends 90% of its
/// 245); requests beyond that queue fairly per user rather than fail. 64 keeps one
/// rchart within that while a 200-object release goes out in four round trips per pass.
pub const DEFAULT_CONCURRENCY: u16 = 64;

pub struct ConnectOptions<'a> {
    pub kubeconfig: Option<&'a Path>,
    pub context: Option<&'a str>,
    pub namespace: Option<&'a str>,
    /// Requests in flight at once for many objects; see [`DEFAULT_CONCURRENCY`].
    pub concurrency: u16,
}

/// Builds a client. Nothing is sent yet; connection problems surface on the first request
/// and are described by [`Cluster::describe`].
pub async fn connect(options: &ConnectOptions<'_>) -> Result<Cluster, ClusterError> {
    let kubeconfig = match options.kubeconfig {
        Some(path) => Kubeconfig::read_from(path)
            .map_err(|e| ClusterError::Kubeconfig(format!("{}: {e}", path.display())))?,
        None => Kubeconfig::read().map_err(|e| {
            ClusterError::Kubeconfig(format!(
                "no usable kubeconfig ({e}); pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config"
            ))
        })?,
    };
    if let Some(context) = options.context
        && !kubeconfig.contexts.iter().any(|c| c.name == context)
    {
        let known: Vec<&str> = kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        return Err(ClusterError::Kubeconfig(format!(
            "context \"{context}\" is not in the kubeconfig (contexts: {})",
            known.join(", ")
        )));
    }
    let config_options = KubeConfigOptions {
        context: options.context.map(str::to_string),
        ..KubeConfigOptions::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &config_options)
        .await
        .map_err(|e| ClusterError::Kubeconfig(e.to_string()))?;
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let namespace = options
        .namespace
        .map(str::to_string)
        .unwrap_or_else(|| config.default_namespace.clone());
    let client = kube::Client::try_from(config).map_err(|e| {
        ClusterError::Kubeconfig(format!("cannot build a client for {server}: {e}"))
    })?;
    Ok(Cluster {
        client,
        namespace,
        server,
        concurrency: usize::from(options.concurrency.max(1)),
    })
}

impl Cluster {
    /// Turns a client error into one that says what it means for the user: an unreachable
    /// server or rejected credentials name the server URL; API errors keep their status.
    pub fn describe(&self, error: kube::Error) -> ClusterError {
        match error {
            kube::Error::Api(status) if status.code == 401 => ClusterError::Unauthorized {
                server: self.server.clone(),
                message: status.message.clone(),
            },
            kube::Error::Api(status) => ClusterError::Api(status),
            kube::Error::HyperError(_) | kube::Error::Service(_) => ClusterError::Unreachable {
                server: self.server.clone(),
                cause: root_cause(&error),
            },
            other => ClusterError::Client(other),
        }
    }
}

/// The innermost cause: "Connection refused (os error 111)" rather than layers of wrappers.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
