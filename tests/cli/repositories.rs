//! Chart repositories over HTTP: repo index, add, update, search, pull, REPO/CHART for
//! template, HTTP dependencies, credentials, TLS, digests and hostile answers.

use std::io::Write;

use crate::dependencies::hostile_archive;
use crate::repo_server::{Options, RepoServer, Workdir, config_map, snapshot};

/// Packages web 1.0.0 and 1.1.0 and lib 0.1.0 into `served/`, indexed with relative URLs.
fn served_charts(work: &Workdir) {
    for version in ["1.0.0", "1.1.0", "2.0.0-rc.1"] {
        work.chart(
            &format!("src/web-{version}"),
            &[
                (
                    "Chart.yaml",
                    &format!("name: web\nversion: {version}\nappVersion: \"{version}\"\ndescription: A web server\nkeywords: [http]\n"),
                ),
                ("values.yaml", "port: 80\n"),
                ("templates/cm.yaml", &config_map("{{ release.name }}-web", &[("port", "values.port"), ("version", "chart.version")])),
            ],
        );
        work.run(&[
            "package",
            &work.path_str(&format!("src/web-{version}")),
            "-d",
            &work.path_str("served"),
        ]);
    }
    work.chart(
        "src/lib",
        &[
            (
                "Chart.yaml",
                "name: lib\nversion: 0.1.0\ntype: library\ndescription: Shared labels\n",
            ),
            ("templates/_labels.tpl", "from: lib"),
        ],
    );
    work.run(&[
        "package",
        &work.path_str("src/lib"),
        "-d",
        &work.path_str("served"),
    ]);
    work.rchart()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["repo", "index"])
        .arg(work.path("served"))
        .assert()
        .success();
}

#[test]
fn repo_index_is_helms_format_and_reproducible() {
    let work = Workdir::new();
    served_charts(&work);
    let index = std::fs::read_to_string(work.path("served/index.yaml")).unwrap();
    assert!(index.starts_with("apiVersion: v1\nentries:\n  lib:\n  - apiVersion: v2\n    created: \"2023-11-14T22:13:20Z\"\n    description: Shared labels\n    digest: "), "{index}");
    let web = index.find("  web:\n").unwrap();
    let versions: Vec<&str> = index[web..]
        .lines()
        .filter_map(|l| l.strip_prefix("    version: "))
        .map(|v| v.trim_matches('"'))
        .collect();
    assert_eq!(versions, ["2.0.0-rc.1", "1.1.0", "1.0.0"]);
    assert!(
        index.contains("    urls:\n    - web-1.1.0.tgz\n"),
        "{index}"
    );
    assert!(
        index.ends_with("generated: \"2023-11-14T22:13:20Z\"\n"),
        "{index}"
    );

    // --url makes the URLs absolute; --merge keeps the created time of what is unchanged
    // and the entries only the old index has
    let old = work.path("old-index.yaml");
    std::fs::write(
        &old,
        index.replace("2023-11-14T22:13:20Z", "2020-01-01T00:00:00Z").replace(
            "entries:\n",
            "entries:\n  gone:\n  - name: gone\n    version: 0.0.1\n    urls: [https://elsewhere/gone-0.0.1.tgz]\n    digest: abc\n",
        ),
    )
    .unwrap();
    work.rchart()
        .env("SOURCE_DATE_EPOCH", "1800000000")
        .args(["repo", "index"])
        .arg(work.path("served"))
        .args(["--url", "https://charts.example/stable/", "--merge"])
        .arg(&old)
        .assert()
        .success();
    let merged = std::fs::read_to_string(work.path("served/index.yaml")).unwrap();
    assert!(
        merged.contains("    - https://charts.example/stable/web-1.1.0.tgz\n"),
        "{merged}"
    );
    assert!(merged.contains("  gone:\n"), "{merged}");
    assert!(
        merged.contains("created: \"2020-01-01T00:00:00Z\""),
        "{merged}"
    );
    assert!(!merged.contains("created: \"2027"), "{merged}");
    assert!(
        merged.ends_with("generated: \"2027-01-15T08:00:00Z\"\n"),
        "{merged}"
    );
}

#[test]
fn add_search_pull_and_template_from_a_repository() {
    let work = Workdir::new();
    served_charts(&work);
    let server = RepoServer::start(&work.path("served"));
    let url = server.url("");
    work.run(&["repo", "add", "local", &url]);
    let list = work.run(&["repo", "list"]);
    assert!(list.contains("local") && list.contains(&url), "{list}");

    let found = work.run(&["search", "repo", "web"]);
    assert!(
        found.contains("local/web   1.1.0           1.1.0         A web server"),
        "{found}"
    );
    let all = work.run(&["search", "repo", "http", "--versions"]);
    assert_eq!(
        all.lines().count(),
        3,
        "prereleases only when asked for: {all}"
    );
    let ranged = work.run(&["search", "repo", "web", "--version", ">=2.0.0-0"]);
    assert!(ranged.contains("2.0.0-rc.1"), "{ranged}");

    let pulled = work.run(&[
        "pull",
        "local/web",
        "--version",
        "1.0.0",
        "-d",
        &work.path_str("pulled"),
    ]);
    assert!(
        pulled.trim_end().ends_with("pulled/web-1.0.0.tgz"),
        "{pulled}"
    );
    assert_eq!(
        std::fs::read(work.path("pulled/web-1.0.0.tgz")).unwrap(),
        std::fs::read(work.path("served/web-1.0.0.tgz")).unwrap()
    );
    work.run(&[
        "pull",
        "local/web",
        "-d",
        &work.path_str("untarred"),
        "--untar",
    ]);
    assert!(work.path("untarred/web/templates/cm.yaml").is_file());
    let error = work.fail(&[
        "pull",
        "local/web",
        "-d",
        &work.path_str("untarred"),
        "--untar",
    ]);
    assert!(error.contains("already exists"), "{error}");

    let out = work.run(&["template", "shop", "local/web", "--version", "~1.0"]);
    assert!(
        out.contains("name: shop-web") && out.contains("version: '\"1.0.0\"'"),
        "{out}"
    );
    let error = work.fail(&["template", "local/web", "--version", "9.x"]);
    assert!(error.contains("repository local has no version of \"web\" matching 9.x (it has 2.0.0-rc.1, 1.1.0, 1.0.0)"), "{error}");
    let error = work.fail(&["template", &work.path_str("src/lib"), "--version", "1.0.0"]);
    assert!(error.contains("is a local chart"), "{error}");

    work.run(&["repo", "update"]);
    work.run(&["repo", "remove", "local"]);
    let error = work.fail(&["pull", "local/web"]);
    assert!(
        error.contains("or REPO/CHART with REPO an added repository"),
        "{error}"
    );
}

#[test]
fn http_dependencies_nest_and_lock() {
    let work = Workdir::new();
    served_charts(&work);
    // A chart served by the repository that carries lib inside it: app → mid → lib
    work.chart(
        "src/mid",
        &[
            ("Chart.yaml", "name: mid\nversion: 3.0.0\ndependencies:\n  - name: lib\n    version: 0.1.0\n    repository: file://../lib\n"),
            ("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mid\ndata:\n  from: {{ include(name=\"charts/lib/templates/_labels.tpl\") | quote }}\n"),
        ],
    );
    work.run(&["dependency", "update", &work.path_str("src/mid")]);
    work.run(&[
        "package",
        &work.path_str("src/mid"),
        "-d",
        &work.path_str("served"),
    ]);
    work.run(&["repo", "index", &work.path_str("served")]);
    let server = RepoServer::start(&work.path("served"));
    work.run(&["repo", "add", "local", &server.url("")]);
    work.chart(
        "app",
        &[
            (
                "Chart.yaml",
                &format!(
                    "name: app\nversion: 0.1.0\ndependencies:\n  - name: web\n    version: ^1.0.0\n    repository: \"@local\"\n  - name: mid\n    version: 3.0.0\n    repository: {}\n",
                    server.url("")
                ),
            ),
        ],
    );
    let app = work.path_str("app");
    work.run(&["dependency", "update", &app]);
    let lock = std::fs::read_to_string(work.path("app/Chart.lock")).unwrap();
    assert!(
        lock.contains("- name: web\n  repository: '@local'\n  version: 1.1.0\n")
            || lock.contains("- name: web\n  repository: \"@local\"\n  version: 1.1.0\n"),
        "{lock}"
    );
    let out = work.run(&["template", &app]);
    assert!(
        out.contains("# Source: app/charts/web/templates/cm.yaml"),
        "{out}"
    );
    assert!(out.contains("from: \"from: lib\""), "{out}");
    let before = snapshot(&work.path("app/charts"));
    std::fs::remove_dir_all(work.path("app/charts")).unwrap();
    work.run(&["dependency", "build", &app]);
    assert_eq!(snapshot(&work.path("app/charts")), before);
}

#[test]
fn a_download_that_does_not_match_the_index_writes_nothing() {
    let work = Workdir::new();
    served_charts(&work);
    let server = RepoServer::start(&work.path("served"));
    work.run(&["repo", "add", "local", &server.url("")]);
    // The archive changes after it was indexed
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(work.path("served/web-1.1.0.tgz"))
        .unwrap();
    file.write_all(b"tampered").unwrap();
    let error = work.fail(&["pull", "local/web", "-d", &work.path_str("pulled")]);
    assert!(
        error.contains(&format!(
            "{}: the download's sha256 is ",
            server.url("web-1.1.0.tgz")
        )),
        "{error}"
    );
    assert!(error.contains("but the index says"), "{error}");
    assert!(!work.path("pulled").join("web-1.1.0.tgz").exists());

    work.chart(
        "app",
        &[("Chart.yaml", "name: app\nversion: 0.1.0\ndependencies:\n  - name: lib\n    repository: \"@local\"\n  - name: web\n    repository: \"@local\"\n")],
    );
    let error = work.fail(&["dependency", "update", &work.path_str("app")]);
    assert!(error.contains("dependency \"web\""), "{error}");
    assert!(!work.path("app/charts").exists() && !work.path("app/Chart.lock").exists());
}

#[test]
fn a_hostile_archive_from_a_repository_is_rejected_as_a_local_one_is() {
    let work = Workdir::new();
    std::fs::create_dir_all(work.path("served")).unwrap();
    let bytes = hostile_archive("evil", "1.0.0");
    std::fs::write(work.path("served/evil-1.0.0.tgz"), &bytes).unwrap();
    let digest = {
        use sha2::Digest;
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    std::fs::write(
        work.path("served/index.yaml"),
        format!("apiVersion: v1\nentries:\n  evil:\n  - name: evil\n    version: 1.0.0\n    urls: [evil-1.0.0.tgz]\n    digest: {digest}\n"),
    )
    .unwrap();
    let server = RepoServer::start(&work.path("served"));
    work.run(&["repo", "add", "local", &server.url("")]);
    let error = work.fail(&[
        "pull",
        "local/evil",
        "-d",
        &work.path_str("pulled"),
        "--untar",
    ]);
    assert!(
        error.contains(&format!("chart archive \"{}\": entry \"evil/templates/passwd.yaml\" is a symlink to \"/etc/passwd\"", server.url("evil-1.0.0.tgz"))),
        "{error}"
    );
    assert!(!work.path("pulled/evil").exists());
}

#[test]
fn bad_repository_answers_are_named() {
    let work = Workdir::new();
    std::fs::create_dir_all(work.path("served/html")).unwrap();
    std::fs::write(
        work.path("served/html/index.yaml"),
        "<html><body>Sign in</body></html>\n",
    )
    .unwrap();
    std::fs::create_dir_all(work.path("served/list")).unwrap();
    std::fs::write(
        work.path("served/list/index.yaml"),
        "apiVersion: v1\nentries: [a, b]\n",
    )
    .unwrap();
    let server = RepoServer::start(&work.path("served"));

    let cases = [
        ("html", "html/index.yaml is not a chart repository index"),
        (
            "list",
            "list/index.yaml: entries: expected a mapping of chart names, found a list",
        ),
        ("none", "none/index.yaml: 404 Not Found"),
    ];
    for (name, expected) in cases {
        let error = work.fail(&["repo", "add", name, &server.url(name)]);
        assert!(error.contains(&server.url(expected)), "{error}");
    }
    // Nothing was recorded for any of them
    assert!(work.run(&["repo", "list"]).is_empty());

    // An unreachable repository, as a dependency too
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/charts", listener.local_addr().unwrap())
    };
    let error = work.fail(&["repo", "add", "dead", &dead]);
    assert!(
        error.contains(&format!("cannot reach {dead}/index.yaml: ")),
        "{error}"
    );
    work.chart(
        "app",
        &[(
            "Chart.yaml",
            &format!(
                "name: app\nversion: 0.1.0\ndependencies:\n  - name: web\n    repository: {dead}\n"
            ),
        )],
    );
    let error = work.fail(&["dependency", "update", &work.path_str("app")]);
    assert!(
        error.contains(&format!(
            "dependency \"web\": cannot reach {dead}/index.yaml"
        )),
        "{error}"
    );
    let error = work.fail(&["dependency", "build", &work.path_str("app")]);
    assert!(error.contains("cannot reach"), "{error}");

    // A damaged repositories.yaml names itself
    std::fs::create_dir_all(work.path("config")).unwrap();
    std::fs::write(
        work.path("config/repositories.yaml"),
        "repositories:\n- name: ../x\n  url: http://x\n",
    )
    .unwrap();
    let error = work.fail(&["repo", "list"]);
    assert!(
        error
            .contains("repositories.yaml: repositories[0].name: \"../x\" is not a repository name"),
        "{error}"
    );
}

#[test]
fn credentials_go_to_the_repository_host_only() {
    let work = Workdir::new();
    served_charts(&work);
    // Charts on another host (another port is another origin), listed by absolute URL
    let elsewhere = RepoServer::start(&work.path("served"));
    let index = std::fs::read_to_string(work.path("served/index.yaml")).unwrap();
    std::fs::create_dir_all(work.path("private")).unwrap();
    std::fs::write(
        work.path("private/index.yaml"),
        index.replace(
            "- web-1.1.0.tgz",
            &format!("- {}", elsewhere.url("web-1.1.0.tgz")),
        ),
    )
    .unwrap();
    std::fs::copy(
        work.path("served/web-1.0.0.tgz"),
        work.path("private/web-1.0.0.tgz"),
    )
    .unwrap();
    let server = RepoServer::with(
        &work.path("private"),
        Options {
            basic_auth: Some(("ci".into(), "s3cret".into())),
            ..Options::default()
        },
    );
    let url = server.url("");
    let error = work.fail(&["repo", "add", "private", &url]);
    assert!(
        error.contains("401 Unauthorized; the repository wants credentials"),
        "{error}"
    );
    let output = work
        .rchart()
        .args([
            "repo",
            "add",
            "private",
            &url,
            "--username",
            "ci",
            "--password-stdin",
        ])
        .write_stdin("wrong\n")
        .output()
        .unwrap();
    assert!(crate::support::stderr_of(&output).contains("the credentials were refused"));
    work.rchart()
        .args([
            "repo",
            "add",
            "private",
            &url,
            "--username",
            "ci",
            "--password-stdin",
        ])
        .write_stdin("s3cret\n")
        .assert()
        .success();
    work.run(&[
        "pull",
        "private/web",
        "--version",
        "1.0.0",
        "-d",
        &work.path_str("a"),
    ]);
    work.run(&[
        "pull",
        "private/web",
        "--version",
        "1.1.0",
        "-d",
        &work.path_str("b"),
    ]);
    assert!(
        server
            .seen()
            .iter()
            .any(|s| s.path == "/web-1.0.0.tgz" && s.authorization.is_some())
    );
    let sent_elsewhere = elsewhere.seen();
    assert!(
        sent_elsewhere.iter().any(|s| s.path == "/web-1.1.0.tgz"),
        "{sent_elsewhere:?}"
    );
    assert!(
        sent_elsewhere.iter().all(|s| s.authorization.is_none()),
        "{sent_elsewhere:?}"
    );
    // A password written in the URL is masked wherever the URL is shown.
    let in_url = url.replacen("http://", "http://ci:s3cret@", 1);
    let error = work.fail(&["repo", "add", "inurl", &format!("{in_url}nothere")]);
    assert!(error.contains("GET http://ci:***@127.0.0.1:"), "{error}");
    assert!(!error.contains("s3cret"), "{error}");
    work.run(&["repo", "add", "inurl", &in_url]);
    let listed = work.run(&["repo", "list"]);
    assert!(listed.contains("http://ci:***@127.0.0.1:"), "{listed}");
    assert!(!listed.contains("s3cret"), "{listed}");

    let config = std::fs::read_to_string(work.path("config/repositories.yaml")).unwrap();
    assert!(config.contains("password: s3cret"), "{config}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(work.path("config/repositories.yaml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "only the owner reads the credentials");
    }
}

#[test]
fn tls_with_a_private_ca() {
    let work = Workdir::new();
    served_charts(&work);
    let server = RepoServer::with(
        &work.path("served"),
        Options {
            tls: true,
            ..Options::default()
        },
    );
    let url = server.url("");
    assert!(url.starts_with("https://127.0.0.1:"));
    let error = work.fail(&["repo", "add", "tls", &url]);
    assert!(
        error.contains(&format!("cannot reach {url}index.yaml: ")),
        "{error}"
    );
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    let ca = work.path("ca.pem");
    std::fs::write(&ca, server.ca_pem.as_ref().unwrap()).unwrap();
    work.run(&[
        "repo",
        "add",
        "tls",
        &url,
        "--ca-file",
        ca.to_str().unwrap(),
    ]);
    work.run(&["pull", "tls/web", "-d", &work.path_str("pulled")]);
    assert!(work.path("pulled/web-1.1.0.tgz").is_file());
    work.run(&["repo", "add", "loose", &url, "--insecure-skip-tls-verify"]);
    work.run(&["repo", "update", "loose"]);
}

#[test]
fn install_and_upgrade_a_repository_chart_with_a_version_range() {
    let work = Workdir::new();
    served_charts(&work);
    let server = RepoServer::start(&work.path("served"));
    work.run(&["repo", "add", "local", &server.url("")]);
    let cluster = crate::support::TestCluster::start();
    let kubeconfig = cluster.server.kubeconfig_path().display().to_string();
    let run = |args: &[&str]| work.run_with(&[("KUBECONFIG", &kubeconfig)], args);
    let version_of = || {
        cluster.get("configmaps", "shop", "shop-web").unwrap()["data"]["version"]
            .as_str()
            .unwrap()
            .to_string()
    };
    run(&[
        "install",
        "shop",
        "local/web",
        "--version",
        "1.0.0",
        "-n",
        "shop",
        "--create-namespace",
    ]);
    assert_eq!(version_of(), "\"1.0.0\"");
    run(&[
        "upgrade",
        "shop",
        "local/web",
        "--version",
        "^1",
        "-n",
        "shop",
    ]);
    assert_eq!(version_of(), "\"1.1.0\"");
}
