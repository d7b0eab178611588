//! Which namespace, and which kube context, a command acts in.
//!
//! An explicit `-n` or `--kube-context` always wins. Else the environment that `-e`
//! names, or that every `-f` file belongs to, gives both. Else a command on an existing
//! release looks for it in the namespaces of the project's environments, one list request
//! per namespace: found in one, that one is used; found in several, it stops and asks
//! which; found in none, the kube context's namespace is used, as without a project.
//! Within a project the choice, and why, is reported: `namespace backend (environment
//! prod)`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};

use super::report::Reporter;
use super::session::{Session, Target};
use crate::cluster::{ConnectOptions, connect};
use crate::project::{Environment, Project, SelectedBy, Selection};
use crate::release::secrets::history_selector;

/// What the user typed, and what the project says, about where to act.
#[derive(Clone, Copy)]
pub struct TargetRequest<'a> {
    pub kubeconfig: Option<&'a Path>,
    /// `--kube-context`.
    pub context: Option<&'a str>,
    /// `-n`.
    pub namespace: Option<&'a str>,
    pub lock_timeout: Duration,
    /// Requests in flight at once for many objects.
    pub concurrency: u16,
    pub project: Option<&'a Project>,
    /// The environment `-e` or the `-f` files chose.
    pub selection: Option<Selection<'a>>,
    /// For a command on an existing release, given no environment: the release to look
    /// for in the environments' namespaces.
    pub find_release: Option<&'a str>,
    /// The command reads every namespace (`list -A`), so which one the session has is
    /// not worth saying.
    pub all_namespaces: bool,
}

/// Where to act, and why there (`None`: nothing worth saying, the user typed it or no
/// project is involved).
struct Choice<'a> {
    namespace: Option<String>,
    context: Option<&'a str>,
    why: Option<String>,
}

/// Opens a session where the request says, reporting the choice.
pub async fn open_session(
    request: &TargetRequest<'_>,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<Session> {
    let choice = choose(request).await?;
    let target = Target {
        kubeconfig: request.kubeconfig,
        context: choice.context,
        namespace: choice.namespace.as_deref(),
        lock_timeout: request.lock_timeout,
        concurrency: request.concurrency,
    };
    let session = Session::open(&target, reporter).await?;
    if let Some(why) = choice.why.filter(|_| !request.all_namespaces) {
        session
            .reporter
            .info(&format!("namespace {} ({why})", session.namespace()));
    }
    Ok(session)
}

async fn choose<'a>(request: &TargetRequest<'a>) -> anyhow::Result<Choice<'a>> {
    let selected = request.selection.map(|s| s.environment);
    let context = request
        .context
        .or_else(|| selected.and_then(|e| e.kube_context.as_deref()));
    if let Some(namespace) = request.namespace {
        let why = selected
            .filter(|e| e.namespace != namespace)
            .map(|e| format!("-n, not environment {}'s {}", e.name, e.namespace));
        return Ok(Choice {
            namespace: Some(namespace.to_string()),
            context,
            why,
        });
    }
    if let Some(selection) = request.selection {
        let environment = selection.environment;
        let mut why = format!("environment {}", environment.name);
        if selection.by == SelectedBy::ValuesFiles {
            why.push_str(", from its values file");
        }
        return Ok(Choice {
            namespace: Some(environment.namespace.clone()),
            context,
            why: Some(with_context(why, request.context, environment)),
        });
    }
    let Some(project) = request.project else {
        return Ok(Choice {
            namespace: None,
            context,
            why: None,
        });
    };
    let why = match request.find_release {
        Some(release) if !project.environments.is_empty() => {
            let found = find_release(request, project, release).await?;
            match found.as_slice() {
                [environment] => {
                    let why = format!("environment {}, where release {release} is", environment.name);
                    return Ok(Choice {
                        namespace: Some(environment.namespace.clone()),
                        context: request.context.or(environment.kube_context.as_deref()),
                        why: Some(with_context(why, request.context, environment)),
                    });
                }
                [] => format!(
                    "the kube context's; release {release} is in none of the environments of {}",
                    project.file
                ),
                several => {
                    let namespaces: Vec<&str> =
                        several.iter().map(|e| e.namespace.as_str()).collect();
                    bail!(
                        "release {release} exists in {}; pass -e or -n",
                        and_list(&namespaces)
                    );
                }
            }
        }
        _ => "the kube context's; no environment chosen (-e, or -f with an environment's values file)"
            .to_string(),
    };
    Ok(Choice {
        namespace: None,
        context,
        why: Some(why),
    })
}

/// Adds the environment's kube context to `why` when it is the one used.
fn with_context(why: String, explicit: Option<&str>, environment: &Environment) -> String {
    match (&environment.kube_context, explicit) {
        (Some(context), None) => format!("{why}, context {context}"),
        _ => why,
    }
}

/// The environments whose namespace holds a record of `release`, one list request per
/// namespace (and context). Environments sharing both count once, as the first of them.
async fn find_release<'p>(
    request: &TargetRequest<'_>,
    project: &'p Project,
    release: &str,
) -> anyhow::Result<Vec<&'p Environment>> {
    let mut searched: Vec<(Option<&str>, &str)> = Vec::new();
    let mut found = Vec::new();
    for environment in &project.environments {
        let context = request.context.or(environment.kube_context.as_deref());
        let key = (context, environment.namespace.as_str());
        if searched.contains(&key) {
            continue;
        }
        searched.push(key);
        let holds = holds_release(request.kubeconfig, context, &environment.namespace, release)
            .await
            .with_context(|| {
                format!(
                    "looking for release {release} in environment {} (namespace {}); pass -e or -n to skip the search",
                    environment.name, environment.namespace
                )
            })?;
        if holds {
            found.push(environment);
        }
    }
    Ok(found)
}

/// Whether `namespace` holds a record of `release`: one list request, for at most one.
async fn holds_release(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
    namespace: &str,
    release: &str,
) -> anyhow::Result<bool> {
    let cluster = connect(&ConnectOptions {
        kubeconfig,
        context,
        namespace: Some(namespace),
        concurrency: crate::cluster::DEFAULT_CONCURRENCY,
    })
    .await?;
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), namespace);
    let params = ListParams::default()
        .labels(&history_selector(release))
        .limit(1);
    let listed = api.list(&params).await.map_err(|e| cluster.describe(e))?;
    Ok(!listed.items.is_empty())
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [only] => only.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::and_list;

    #[test]
    fn lists_read_as_english() {
        assert_eq!(and_list(&["a"]), "a");
        assert_eq!(
            and_list(&["backend-dev", "backend"]),
            "backend-dev and backend"
        );
        assert_eq!(and_list(&["a", "b", "c"]), "a, b and c");
    }
}
