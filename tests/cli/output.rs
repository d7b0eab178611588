//! What read commands print: every one answers `-o json` and `-o yaml` with the same
//! data, and `list -A` lists every namespace.

use serde_json::Value;

use crate::support::{DEV_NS, TestCluster, as_strs, dev_args, write_chart};

const NS: &str = DEV_NS;

/// `rchart ARGS -o FORMAT`, parsed: JSON as JSON, YAML as YAML (every document of it,
/// when `documents`).
fn structured(cluster: &TestCluster, args: &[&str], format: &str) -> Value {
    let mut args = args.to_vec();
    args.extend(["-o", format]);
    let text = cluster.run(&args);
    match format {
        "json" => serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("rchart {args:?} printed no JSON ({e}):\n{text}")),
        _ => serde_saphyr::from_str(&text)
            .unwrap_or_else(|e| panic!("rchart {args:?} printed no YAML ({e}):\n{text}")),
    }
}

/// Asserts that `rchart ARGS -o json` and `-o yaml` say the same, and returns it.
#[track_caller]
fn same_in_json_and_yaml(cluster: &TestCluster, args: &[&str]) -> Value {
    let json = structured(cluster, args, "json");
    let yaml = structured(cluster, args, "yaml");
    assert_eq!(json, yaml, "rchart {args:?}");
    assert_ne!(json, Value::Null, "rchart {args:?}");
    json
}

#[test]
fn every_read_command_answers_json_and_yaml_with_the_same_data() {
    let cluster = TestCluster::start();
    cluster.install_dev("web");
    cluster.run(&as_strs(&dev_args(
        "upgrade",
        "web",
        &["--set", "routes./route1=second"],
    )));

    let history = same_in_json_and_yaml(&cluster, &["history", "web", "-n", NS]);
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["superseded", "deployed"]);

    let status = same_in_json_and_yaml(&cluster, &["status", "web", "-n", NS]);
    assert_eq!(status["revision"], 2, "{status}");
    let first = same_in_json_and_yaml(&cluster, &["status", "web", "-n", NS, "--revision", "1"]);
    assert_eq!(first["revision"], 1, "{first}");

    for list in [
        &["list", "-n", NS][..],
        &["list", "-A"],
        &["list", "-n", NS, "--all"],
    ] {
        let listed = same_in_json_and_yaml(&cluster, list);
        assert_eq!(listed[0]["name"], "web", "{list:?}: {listed}");
        assert_eq!(listed[0]["namespace"], NS, "{list:?}: {listed}");
    }

    let values = same_in_json_and_yaml(&cluster, &["get", "values", "web", "-n", NS]);
    assert_eq!(values["routes"]["/route1"], "second", "{values}");
    let all = same_in_json_and_yaml(&cluster, &["get", "values", "web", "-n", NS, "--all"]);
    assert!(
        all.as_object().unwrap().len() > values.as_object().unwrap().len(),
        "--all adds the chart's defaults: {all}"
    );

    // The manifest in YAML is the documents as applied; in JSON, a list of them.
    let args = ["get", "manifest", "web", "-n", NS];
    let json = structured(&cluster, &args, "json");
    let mut yaml_args = args.to_vec();
    yaml_args.extend(["-o", "yaml"]);
    let documents: Vec<Value> = serde_saphyr::from_multiple(&cluster.run(&yaml_args)).unwrap();
    assert_eq!(json, Value::Array(documents));
    assert_eq!(json.as_array().unwrap().len(), 5, "{json}");

    // Notes are text: JSON wraps them, YAML (like the table) prints them as they are.
    let notes = structured(&cluster, &["get", "notes", "web", "-n", NS], "json");
    let mut text_args = vec!["get", "notes", "web", "-n", NS, "-o", "yaml"];
    let text = cluster.run(&text_args);
    assert!(!text.trim().is_empty());
    assert_eq!(notes["notes"].as_str().unwrap().trim_end(), text.trim_end());
    text_args.truncate(5);
    assert_eq!(cluster.run(&text_args), text);
}

/// A chart of one ConfigMap, enough for a release.
fn one_config_map(dir: &std::path::Path) -> String {
    write_chart(
        &dir.join("one"),
        &[
            ("Chart.yaml", "apiVersion: v2\nname: one\nversion: 0.1.0\n"),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ release.name }}\n",
            ),
        ],
    )
    .display()
    .to_string()
}

/// `list` shows the releases of one namespace (the kube context's unless `-n`), and
/// `list -A` those of every namespace, each with its namespace.
#[test]
fn list_all_namespaces_lists_every_namespace() {
    let cluster = TestCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let chart = one_config_map(dir.path());
    for (name, namespace) in [("here", "default"), ("there", "team-a"), ("also", "team-b")] {
        cluster.run(&[
            "install",
            name,
            &chart,
            "-n",
            namespace,
            "--create-namespace",
        ]);
    }
    let names = |args: &[&str]| -> Vec<(String, String)> {
        let listed = structured(&cluster, args, "json");
        listed
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["namespace"].as_str().unwrap().to_string(),
                    r["name"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let pair = |namespace: &str, name: &str| (namespace.to_string(), name.to_string());

    assert_eq!(names(&["list"]), [pair("default", "here")]);
    assert_eq!(names(&["list", "-n", "team-a"]), [pair("team-a", "there")]);
    assert_eq!(
        names(&["list", "-A"]),
        [
            pair("default", "here"),
            pair("team-a", "there"),
            pair("team-b", "also")
        ]
    );
    assert_eq!(names(&["list", "--all-namespaces"]).len(), 3);

    let table = cluster.run(&["list", "-A"]);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|line| line.split_whitespace().take(2).collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["NAME", "NAMESPACE"],
            vec!["here", "default"],
            vec!["there", "team-a"],
            vec!["also", "team-b"],
        ],
        "{table}"
    );
}
