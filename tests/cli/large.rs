//! A release far larger than one Secret: its records are split into verified chunks.

use base64::Engine as _;

use crate::support::TestCluster;

const NS: &str = "big";
/// Eleven ConfigMaps of 950 KB each: over 10 MiB of manifest.
const CONFIG_MAPS: usize = 11;
const BLOB_BYTES: usize = 950 * 1024;

/// Random-looking base64 that gzip cannot shrink much (xorshift; no seed needed).
fn incompressible(seed: u64, len: usize) -> String {
    let mut state = seed | 1;
    let bytes: Vec<u8> = (0..len * 3 / 4)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A chart of `config_maps` ConfigMaps of 950 KB each, which gzip cannot shrink much:
/// two are enough for a record of two Secrets.
pub fn chart_of_size(dir: &std::path::Path, config_maps: usize) -> std::path::PathBuf {
    let templates: Vec<(String, String)> = (0..config_maps)
        .map(|index| {
            let template = format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ release.name }}}}-blob-{index}\ndata:\n  version: {{{{ values.version | quote }}}}\n  blob: {}\n",
                incompressible(index as u64 + 1, BLOB_BYTES)
            );
            (format!("templates/blob-{index}.yaml"), template)
        })
        .collect();
    let mut files = vec![
        (
            "Chart.yaml",
            "apiVersion: v2\nname: blobs\nversion: 1.0.0\n",
        ),
        ("values.yaml", "version: \"1\"\n"),
    ];
    files.extend(
        templates
            .iter()
            .map(|(path, text)| (path.as_str(), text.as_str())),
    );
    crate::support::write_chart(&dir.join("blobs"), &files)
}

fn rchart_secrets(cluster: &TestCluster) -> Vec<String> {
    cluster
        .server
        .list("secrets", Some(NS))
        .iter()
        .filter(|s| s["metadata"]["labels"]["owner"] == "rchart")
        .map(|s| s["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_release_over_10_mib_installs_upgrades_rolls_back_and_uninstalls() {
    let cluster = TestCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let chart = chart_of_size(dir.path(), CONFIG_MAPS);
    let chart = chart.to_str().unwrap();

    cluster.run(&["install", "big", chart, "-n", NS, "--create-namespace"]);
    let after_install = rchart_secrets(&cluster);
    assert!(
        after_install.len() > 5,
        "the record is split into chunks: {after_install:?}"
    );

    cluster.run(&[
        "upgrade",
        "big",
        chart,
        "-n",
        NS,
        "--set-string",
        "version=2",
    ]);
    cluster.run(&["rollback", "big", "1", "-n", NS]);

    let history = cluster.run(&["history", "big", "-n", NS]);
    assert_eq!(history.lines().count(), 4, "{history}");
    assert!(history.contains("Rollback to 1"), "{history}");
    let manifest = cluster.run(&["get", "manifest", "big", "-n", NS, "--revision", "1"]);
    assert!(
        manifest.len() > 10 * 1024 * 1024,
        "{} bytes",
        manifest.len()
    );
    let live = cluster.get("configmaps", NS, "big-blob-3").unwrap();
    assert_eq!(
        live["data"]["version"], "1",
        "revision 1's data is live again"
    );
    assert_eq!(live["data"]["blob"], incompressible(4, BLOB_BYTES));

    cluster.run(&["uninstall", "big", "-n", NS]);
    assert!(
        rchart_secrets(&cluster).is_empty(),
        "every record and chunk is gone"
    );
    assert!(
        cluster
            .names("configmaps", NS)
            .iter()
            .all(|n| !n.starts_with("big-"))
    );
}
