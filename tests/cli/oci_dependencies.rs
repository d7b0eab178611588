//! `oci://` dependencies, against Debian's `docker-registry` on 127.0.0.1 (the test skips
//! where it cannot run, as the OCI tests do).

use crate::oci::registry;
use crate::repo_server::{Workdir, config_map, snapshot};

#[test]
fn oci_dependencies_resolve_lock_and_build() {
    let Some(registry) = registry::TestRegistry::start() else {
        return;
    };
    let work = Workdir::new();
    for version in ["1.0.0", "1.1.0"] {
        let dir = work.chart(
            &format!("src/web-{version}"),
            &[
                ("Chart.yaml", &format!("name: web\nversion: {version}\n")),
                (
                    "templates/cm.yaml",
                    &config_map("web", &[("version", "chart.version")]),
                ),
            ],
        );
        work.run(&[
            "package",
            dir.to_str().unwrap(),
            "-d",
            &work.path_str("dist"),
        ]);
        let archive = work.path_str(&format!("dist/web-{version}.tgz"));
        work.run_with(
            &[("XDG_CACHE_HOME", &work.path_str("oci-cache"))],
            &["push", &archive, &registry.url("charts"), "--plain-http"],
        );
    }
    work.chart(
        "app",
        &[(
            "Chart.yaml",
            &format!(
                "name: app\nversion: 0.1.0\ndependencies:\n  - name: web\n    version: ~1.0\n    repository: {}\n",
                registry.url("charts")
            ),
        )],
    );
    let app = work.path_str("app");
    let cache = work.path_str("oci-cache");
    let run = |args: &[&str]| work.run_with(&[("XDG_CACHE_HOME", &cache)], args);
    run(&["dependency", "update", &app, "--plain-http"]);
    let lock = std::fs::read_to_string(work.path("app/Chart.lock")).unwrap();
    assert!(lock.contains("  version: 1.0.0\n"), "{lock}");
    assert_eq!(
        std::fs::read(work.path("app/charts/web-1.0.0.tgz")).unwrap(),
        std::fs::read(work.path("dist/web-1.0.0.tgz")).unwrap()
    );
    let out = run(&["template", &app]);
    assert!(out.contains("version: '\"1.0.0\"'"), "{out}");
    let before = snapshot(&work.path("app/charts"));
    std::fs::remove_dir_all(work.path("app/charts")).unwrap();
    run(&["dependency", "build", &app, "--plain-http"]);
    assert_eq!(snapshot(&work.path("app/charts")), before);
}
