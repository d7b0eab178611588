//! Cluster access follows kubectl: `--kubeconfig`, else `KUBECONFIG` (several files,
//! merged, the first to set a value winning), else `~/.kube/config`; `--kube-context`,
//! else the current context; `-n`, else the context's namespace.

use std::path::{Path, PathBuf};

use crate::support::{TestCluster, rchart, stderr_of, stdout_of, write_chart};

/// One context of a kubeconfig, with a cluster and a user of the same name.
struct Context {
    name: &'static str,
    server: String,
    token: String,
    namespace: String,
}

/// Kubeconfig files and a directory to keep them in.
struct Kubeconfigs {
    dir: tempfile::TempDir,
    url: String,
    token: String,
}

impl Kubeconfigs {
    fn new(cluster: &TestCluster) -> Self {
        Kubeconfigs {
            dir: tempfile::tempdir().unwrap(),
            url: cluster.server.url(),
            token: cluster.server.token().to_string(),
        }
    }

    /// The context `live`, reaching the test server, with namespace `namespace`.
    fn live(&self, namespace: &str) -> Context {
        Context {
            name: "live",
            server: self.url.clone(),
            token: self.token.clone(),
            namespace: namespace.to_string(),
        }
    }

    /// The context `down`, whose server refuses connections.
    fn down(&self) -> Context {
        Context {
            name: "down",
            server: "http://127.0.0.1:1".to_string(),
            token: self.token.clone(),
            namespace: "default".to_string(),
        }
    }

    /// Writes `file` (relative to the directory) with `contexts` and `current-context`
    /// when given.
    fn write(&self, file: &str, contexts: &[Context], current: Option<&str>) -> PathBuf {
        let mut text = String::from("apiVersion: v1\nkind: Config\n");
        if !contexts.is_empty() {
            text.push_str("clusters:\n");
            for c in contexts {
                text.push_str(&format!(
                    "- name: {}\n  cluster:\n    server: {}\n",
                    c.name, c.server
                ));
            }
            text.push_str("users:\n");
            for c in contexts {
                text.push_str(&format!(
                    "- name: {}\n  user:\n    token: {}\n",
                    c.name, c.token
                ));
            }
            text.push_str("contexts:\n");
            for c in contexts {
                text.push_str(&format!(
                    "- name: {0}\n  context:\n    cluster: {0}\n    user: {0}\n    namespace: {1}\n",
                    c.name, c.namespace
                ));
            }
        }
        if let Some(current) = current {
            text.push_str(&format!("current-context: {current}\n"));
        }
        let path = self.dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// `rchart ARGS` with `KUBECONFIG` as given (unset when `None`) and `HOME` in `home`.
fn rchart_with(kubeconfig: Option<&str>, home: &Path, args: &[&str]) -> std::process::Output {
    let mut command = rchart();
    command.env("HOME", home).args(args);
    if let Some(kubeconfig) = kubeconfig {
        command.env("KUBECONFIG", kubeconfig);
    }
    command.output().unwrap()
}

#[track_caller]
fn reaches_the_server(output: &std::process::Output) -> String {
    assert!(output.status.success(), "{}", stderr_of(output));
    stdout_of(output)
}

#[track_caller]
fn refused(output: &std::process::Output) -> String {
    let stderr = stderr_of(output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    stderr
}

#[test]
fn the_kubeconfig_flag_wins_over_the_variable_and_the_home_file() {
    let cluster = TestCluster::start();
    let files = Kubeconfigs::new(&cluster);
    let live = files.write("live.yaml", &[files.live("default")], Some("live"));
    let down = files.write("down.yaml", &[files.down()], Some("down"));
    let home = files.dir.path().join("home");
    files.write("home/.kube/config", &[files.down()], Some("down"));

    let output = rchart_with(
        Some(down.to_str().unwrap()),
        &home,
        &["list", "--kubeconfig", live.to_str().unwrap()],
    );
    reaches_the_server(&output);
    let error = refused(&rchart_with(Some(down.to_str().unwrap()), &home, &["list"]));
    assert!(
        error.contains("cannot reach the Kubernetes API at http://127.0.0.1:1"),
        "without the flag, KUBECONFIG counts: {error}"
    );
}

#[test]
fn several_kubeconfig_files_merge_and_the_first_current_context_wins() {
    let cluster = TestCluster::start();
    let files = Kubeconfigs::new(&cluster);
    // The first file only chooses the context; the second defines it, and chooses
    // another one itself.
    let chooses = files.write("chooses.yaml", &[], Some("live"));
    let defines = files.write(
        "defines.yaml",
        &[files.down(), files.live("default")],
        Some("down"),
    );
    let home = files.dir.path().join("no-home");

    let both = format!("{}:{}", chooses.display(), defines.display());
    reaches_the_server(&rchart_with(Some(&both), &home, &["list"]));
    let error = refused(&rchart_with(
        Some(defines.to_str().unwrap()),
        &home,
        &["list"],
    ));
    assert!(error.contains("http://127.0.0.1:1"), "{error}");
}

#[test]
fn without_a_flag_or_variable_the_kubeconfig_in_home_is_read() {
    let cluster = TestCluster::start();
    let files = Kubeconfigs::new(&cluster);
    let home = files.dir.path().join("home");
    files.write("home/.kube/config", &[files.live("default")], Some("live"));
    reaches_the_server(&rchart_with(None, &home, &["list"]));

    let error = refused(&rchart_with(
        None,
        &files.dir.path().join("empty-home"),
        &["list"],
    ));
    assert!(
        error.contains("no usable kubeconfig")
            && error.contains("pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config"),
        "{error}"
    );
}

#[test]
fn the_kube_context_flag_picks_a_context_other_than_the_current_one() {
    let cluster = TestCluster::start();
    let files = Kubeconfigs::new(&cluster);
    let config = files.write(
        "two.yaml",
        &[files.down(), files.live("default")],
        Some("down"),
    );
    let config = config.to_str().unwrap();
    let home = files.dir.path().join("no-home");

    refused(&rchart_with(Some(config), &home, &["list"]));
    reaches_the_server(&rchart_with(
        Some(config),
        &home,
        &["list", "--kube-context", "live"],
    ));
    let error = refused(&rchart_with(
        Some(config),
        &home,
        &["list", "--kube-context", "nope"],
    ));
    assert!(
        error.contains("context \"nope\" is not in the kubeconfig (contexts: down, live)"),
        "{error}"
    );
}

#[test]
fn without_n_the_contexts_namespace_is_the_release_namespace() {
    let cluster = TestCluster::start();
    cluster.create_namespace("from-context");
    let files = Kubeconfigs::new(&cluster);
    let config = files.write("ns.yaml", &[files.live("from-context")], Some("live"));
    let config = config.to_str().unwrap();
    let home = files.dir.path().join("no-home");
    let chart = write_chart(
        &files.dir.path().join("one"),
        &[
            ("Chart.yaml", "apiVersion: v2\nname: one\nversion: 0.1.0\n"),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n",
            ),
        ],
    );

    reaches_the_server(&rchart_with(
        Some(config),
        &home,
        &["install", "one", chart.to_str().unwrap()],
    ));
    assert_eq!(
        cluster.records("from-context"),
        ["rchart.release.v1.one.v1"]
    );
    assert!(cluster.get("configmaps", "from-context", "one").is_some());
    let listed = reaches_the_server(&rchart_with(Some(config), &home, &["list"]));
    assert!(listed.contains("one "), "{listed}");
    // -n wins over the context's namespace.
    let elsewhere = reaches_the_server(&rchart_with(
        Some(config),
        &home,
        &["list", "-n", "default"],
    ));
    assert!(!elsewhere.contains("one "), "{elsewhere}");
}
