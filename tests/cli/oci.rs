//! Charts in a real OCI registry (distribution 2.8 on 127.0.0.1): push, pull, versions,
//! the cache, logins, bearer tokens, TLS, and what is refused. skopeo reads back what
//! rchart wrote, as an independent client.

pub(crate) mod registry;
mod serve;
mod token;

use std::path::Path;
use std::process::Command;

use registry::{
    Auth, OciUser, TestRegistry, TlsFiles, digest_of, package_chart, sha256, tool_available,
};
use token::TokenServer;

use crate::support::bundled_chart;

const USER: &str = "alice";
const PASSWORD: &str = "wonderland";

/// A registry, a user with an empty cache and no logins, and a work directory; `None`
/// when the registry cannot run here (the test skips, saying so).
fn setup(auth: Auth) -> Option<(TestRegistry, OciUser, tempfile::TempDir)> {
    let registry = TestRegistry::with(auth)?;
    Some((registry, OciUser::new(), tempfile::tempdir().unwrap()))
}

fn htpasswd() -> Auth {
    Auth::Htpasswd {
        user: USER.into(),
        password: PASSWORD.into(),
    }
}

/// `rchart pull REFERENCE -d OUT EXTRA…` writes exactly `archive`, under its name.
fn assert_pull_gives(user: &OciUser, reference: &str, archive: &Path, out: &Path, extra: &[&str]) {
    let out_arg = out.display().to_string();
    let mut args = vec!["pull", reference, "-d", &out_arg];
    args.extend_from_slice(extra);
    user.run(&args);
    assert_eq!(
        std::fs::read(out.join(archive.file_name().unwrap())).unwrap(),
        std::fs::read(archive).unwrap(),
        "the pulled archive differs from the pushed one"
    );
}

/// A user whose commands reach `cluster` (install, upgrade, status, rollback).
fn user_of(cluster: &crate::support::TestCluster) -> OciUser {
    let kubeconfig = cluster.server.kubeconfig_path().display().to_string();
    OciUser::new().with_env("KUBECONFIG", &kubeconfig)
}

fn bundled_package(user: &OciUser, out: &std::path::Path) -> std::path::PathBuf {
    user.run(&[
        "package",
        &bundled_chart(),
        "-d",
        &out.display().to_string(),
    ]);
    out.join("multiroute-0.1.0.tgz")
}

#[test]
fn push_then_pull_gives_the_pushed_bytes_and_skopeo_sees_rchart_media_types() {
    let Some((registry, user, work)) = setup(Auth::Anonymous) else {
        return;
    };
    let archive = bundled_package(&user, work.path());

    let reference = user.push(&archive, &registry.url("charts"));
    let digest = digest_of(&reference).to_string();
    assert_eq!(
        reference,
        format!("{}:0.1.0@{digest}", registry.url("charts/multiroute"))
    );
    // The same archive again: the same manifest, so the same digest.
    assert_eq!(user.push(&archive, &registry.url("charts")), reference);

    let manifest = registry.raw_manifest("charts/multiroute", "0.1.0");
    assert_eq!(sha256(&manifest), digest);
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        manifest["artifactType"],
        "application/vnd.rchart.chart.config.v1+json"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.rchart.chart.config.v1+json"
    );
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.rchart.chart.content.v1.tar+gzip"
    );
    assert_eq!(
        manifest["layers"][0]["digest"],
        sha256(&std::fs::read(&archive).unwrap())
    );
    assert!(
        manifest["annotations"]
            .get("org.opencontainers.image.created")
            .is_none()
    );

    let other = OciUser::new();
    let out = work.path().join("out");
    let chart = registry.url("charts/multiroute");
    let version = ["--version", "0.1.0", "--plain-http"];
    assert_pull_gives(&other, &chart, &archive, &out, &version);

    if tool_available("skopeo", "skopeo") {
        let output = Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!(
                "docker://{}/charts/multiroute:0.1.0",
                registry.host()
            ))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(sha256(&output.stdout), digest, "skopeo sees other bytes");
        let text = String::from_utf8(output.stdout).unwrap();
        for media_type in [
            "\"artifactType\":\"application/vnd.rchart.chart.config.v1+json\"",
            "\"mediaType\":\"application/vnd.rchart.chart.content.v1.tar+gzip\"",
        ] {
            assert!(text.contains(media_type), "{text}");
        }
    }
}

#[test]
fn source_date_epoch_is_the_only_timestamp() {
    let Some((registry, user, work)) = setup(Auth::Anonymous) else {
        return;
    };
    let archive = package_chart(work.path(), "dated", "1.0.0");
    let dated = OciUser::new().with_env("SOURCE_DATE_EPOCH", "1700000000");
    let first = dated.push(&archive, &registry.url("a"));
    assert_eq!(
        digest_of(&dated.push(&archive, &registry.url("b"))),
        digest_of(&first)
    );
    let undated = user.push(&archive, &registry.url("c"));
    assert_ne!(digest_of(&undated), digest_of(&first));
    let manifest: serde_json::Value =
        serde_json::from_slice(&registry.raw_manifest("a/dated", "1.0.0")).unwrap();
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.created"],
        "2023-11-14T22:13:20Z"
    );
}

#[test]
fn versions_resolve_to_the_highest_matching_tag_with_build_metadata_as_underscore() {
    let Some((registry, user, work)) = setup(Auth::Anonymous) else {
        return;
    };
    let versions = ["1.0.0", "1.0.0+abc", "1.1.0", "1.2.0-beta.1", "2.0.0"];
    for version in versions {
        let archive = package_chart(work.path(), "ranged", version);
        user.push(&archive, &registry.url("charts"));
    }
    assert_eq!(
        registry.tags("charts/ranged"),
        ["1.0.0", "1.0.0_abc", "1.1.0", "1.2.0-beta.1", "2.0.0"]
    );
    let out = tempfile::tempdir().unwrap();
    let out_arg = out.path().display().to_string();
    let chart = registry.url("charts/ranged");
    let pull = |extra: &[&str]| {
        let mut args = vec!["pull", chart.as_str(), "-d", &out_arg, "--plain-http"];
        args.extend_from_slice(extra);
        user.run(&args)
    };
    let pulled_version = |stdout: &str| {
        let from = stdout.lines().find(|l| l.starts_with("from: ")).unwrap();
        let tag = &from[from.find("charts/ranged:").unwrap() + "charts/ranged:".len()..];
        tag.split('@').next().unwrap().to_string()
    };
    assert_eq!(pulled_version(&pull(&[])), "2.0.0");
    assert_eq!(pulled_version(&pull(&["--version", "^1.0"])), "1.1.0");
    assert_eq!(
        pulled_version(&pull(&["--version", ">=1.2.0-0 <2"])),
        "1.2.0-beta.1"
    );
    assert_eq!(
        pulled_version(&pull(&["--version", "1.0.0 || 1.1.0"])),
        "1.1.0"
    );
    // A bare version is exact: 1.0.0, not 1.0.0+abc and not 1.1.0.
    assert_eq!(pulled_version(&pull(&["--version", "1.0.0"])), "1.0.0");
    assert_eq!(
        std::fs::read(out.path().join("ranged-1.0.0.tgz")).unwrap(),
        std::fs::read(work.path().join("ranged-1.0.0.tgz")).unwrap()
    );
    assert_eq!(
        pulled_version(&pull(&["--version", "1.0.0+abc"])),
        "1.0.0_abc"
    );
    assert_eq!(
        std::fs::read(out.path().join("ranged-1.0.0+abc.tgz")).unwrap(),
        std::fs::read(work.path().join("ranged-1.0.0+abc.tgz")).unwrap()
    );

    let error = user.fail(&["pull", &chart, "--version", ">=3", "--plain-http"]);
    assert!(
        error.contains(
            "no version matches >=3; it has 2.0.0, 1.2.0-beta.1, 1.1.0, 1.0.0+abc, 1.0.0"
        ),
        "{error}"
    );
}

#[test]
fn an_unchanged_tag_in_the_cache_costs_one_manifest_request_and_a_digest_none() {
    let Some((registry, user, work)) = setup(Auth::Anonymous) else {
        return;
    };
    let reference = user.push(
        &package_chart(work.path(), "cached", "1.0.0"),
        &registry.url("charts"),
    );
    let digest = digest_of(&reference).to_string();
    let out = work.path().join("out").display().to_string();
    let chart = registry.url("charts/cached");

    let mark = registry.mark();
    user.run(&[
        "pull",
        &chart,
        "--version",
        "1.0.0",
        "-d",
        &out,
        "--plain-http",
    ]);
    let first = registry.requests_since(mark);
    assert_eq!(first.len(), 2, "{first:#?}");
    assert!(
        first[1].starts_with("GET /v2/charts/cached/blobs/sha256:"),
        "{first:#?}"
    );

    let mark = registry.mark();
    let output = user
        .rchart()
        .args([
            "pull",
            &chart,
            "--version",
            "1.0.0",
            "-d",
            &out,
            "--plain-http",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        registry.requests_since(mark),
        ["GET /v2/charts/cached/manifests/1.0.0 200"]
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is unchanged; using it from the cache"),
        "{stderr}"
    );

    let mark = registry.mark();
    user.run(&[
        "pull",
        &format!("{chart}@{digest}"),
        "-d",
        &out,
        "--plain-http",
    ]);
    assert_eq!(registry.requests_since(mark), Vec::<String>::new());

    // By digest with an empty cache: the manifest by digest, then the layer.
    let fresh = OciUser::new();
    let mark = registry.mark();
    fresh.run(&[
        "pull",
        &format!("{chart}@{digest}"),
        "-d",
        &out,
        "--plain-http",
    ]);
    let requests = registry.requests_since(mark);
    assert_eq!(
        requests[0],
        format!("GET /v2/charts/cached/manifests/{digest} 200")
    );
    assert_eq!(requests.len(), 2, "{requests:#?}");
}

#[test]
fn a_missing_repository_and_a_missing_tag_are_told_apart() {
    let Some((registry, user, work)) = setup(Auth::Anonymous) else {
        return;
    };
    user.push(
        &package_chart(work.path(), "here", "1.0.0"),
        &registry.url("charts"),
    );
    let host = registry.host();

    let error = user.fail(&["pull", &registry.url("charts/absent"), "--plain-http"]);
    assert!(
        error.contains(&format!(
            "registry {host} has no repository \"charts/absent\" (404)"
        )),
        "{error}"
    );
    let error = user.fail(&[
        "pull",
        &registry.url("charts/here"),
        "--version",
        "2.0.0",
        "--plain-http",
    ]);
    assert!(
        error.contains(&format!(
            "registry {host}: repository \"charts/here\" has no tag \"2.0.0\" (404); its tags: 1.0.0"
        )),
        "{error}"
    );
    let missing = format!("sha256:{}", "0".repeat(64));
    let error = user.fail(&[
        "pull",
        &format!("{}@{missing}", registry.url("charts/here")),
        "--plain-http",
    ]);
    assert!(
        error.contains(&format!("has no manifest {missing} (404)")),
        "{error}"
    );
}

#[test]
fn tag_lists_are_followed_across_link_pages() {
    // distribution 2.8 ignores paging; registries that page say where the next page is
    // with a Link header. This stub pages two tags at a time and knows no manifest.
    async fn tags(
        axum::extract::Query(query): axum::extract::Query<
            std::collections::HashMap<String, String>,
        >,
    ) -> axum::response::Response {
        use axum::response::IntoResponse as _;
        let all = ["0.1.0", "0.2.0", "1.0.0", "1.5.0", "3.0.0-rc.1"];
        let start = query
            .get("last")
            .and_then(|last| all.iter().position(|t| t == last))
            .map_or(0, |i| i + 1);
        let page = &all[start..all.len().min(start + 2)];
        let body = serde_json::json!({ "name": "paged/web", "tags": page }).to_string();
        match page.last() {
            Some(last) if start + 2 < all.len() => (
                [(
                    "link",
                    format!("</v2/paged/web/tags/list?n=2&last={last}>; rel=\"next\""),
                )],
                body,
            )
                .into_response(),
            _ => body.into_response(),
        }
    }
    let stub = serve::Served::start(
        axum::Router::new().route("/v2/paged/web/tags/list", axum::routing::get(tags)),
    );
    let user = OciUser::new();
    let chart = format!("oci://127.0.0.1:{}/paged/web", stub.port);
    let error = user.fail(&["pull", &chart, "--version", ">=1", "--plain-http"]);
    // 1.5.0 is on the second page; the 404 lists the tags of all three.
    assert!(
        error.contains(
            "repository \"paged/web\" has no tag \"1.5.0\" (404); its tags: 3.0.0-rc.1, 1.5.0, 1.0.0, 0.2.0, 0.1.0"
        ),
        "{error}"
    );
}

#[test]
fn a_helm_chart_is_refused_naming_its_media_types() {
    let Some(registry) = TestRegistry::start() else {
        return;
    };
    let config_bytes = br#"{"apiVersion":"v2","name":"web","version":"1.0.0"}"#;
    let layer_bytes = b"not really a chart";
    let config = registry.raw_blob("helm/web", config_bytes);
    let layer = registry.raw_blob("helm/web", layer_bytes);
    // Helm's layout: no mediaType, no artifactType.
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": config, "size": config_bytes.len()},
        "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": layer, "size": layer_bytes.len()}],
    });
    registry.raw_manifest_put("helm/web", "1.0.0", &manifest);

    let user = OciUser::new();
    let out = tempfile::tempdir().unwrap();
    let mark = registry.mark();
    let error = user.fail(&[
        "pull",
        &registry.url("helm/web"),
        "--version",
        "1.0.0",
        "-d",
        &out.path().display().to_string(),
        "--plain-http",
    ]);
    assert!(
        error.contains(
            "is not an rchart chart: a Helm chart with config media type \
             application/vnd.cncf.helm.config.v1+json and layer media types \
             [application/vnd.cncf.helm.chart.content.v1.tar+gzip]; rchart reads only config \
             application/vnd.rchart.chart.config.v1+json with one layer \
             application/vnd.rchart.chart.content.v1.tar+gzip"
        ),
        "{error}"
    );
    // The layer was never fetched, and nothing was written.
    assert_eq!(registry.requests_since(mark).len(), 1);
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[test]
fn a_tampered_blob_is_detected_and_nothing_is_written() {
    let Some((registry, user, work)) = setup(Auth::Anonymous) else {
        return;
    };
    let archive = package_chart(work.path(), "tampered", "1.0.0");
    user.push(&archive, &registry.url("charts"));
    let layer = sha256(&std::fs::read(&archive).unwrap());
    let blob = registry.blob_file(&layer);
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();

    let fresh = OciUser::new();
    let out = work.path().join("out");
    let error = fresh.fail(&[
        "pull",
        &registry.url("charts/tampered"),
        "--version",
        "1.0.0",
        "-d",
        &out.display().to_string(),
        "--plain-http",
    ]);
    assert!(
        error.contains(&format!(
            "layer {layer} of charts/tampered from {} does not match its digest: expected {layer}, got sha256:",
            registry.host()
        )),
        "{error}"
    );
    assert!(!out.exists(), "nothing may be written");
    let cached = fresh.cache_dir().join("rchart/oci/sha256");
    assert!(
        !cached.exists() || std::fs::read_dir(&cached).unwrap().count() == 0,
        "nothing may be cached"
    );
}

#[test]
fn an_oversized_layer_is_refused_before_it_is_read() {
    let Some(registry) = TestRegistry::start() else {
        return;
    };
    let config = registry.raw_blob("big/chart", b"{}");
    let layer = registry.raw_blob("big/chart", b"small");
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.rchart.chart.config.v1+json", "digest": config, "size": 2},
        "layers": [{"mediaType": "application/vnd.rchart.chart.content.v1.tar+gzip", "digest": layer, "size": 60u64 << 20}],
    });
    registry.raw_manifest_put("big/chart", "1.0.0", &manifest);
    let user = OciUser::new();
    let mark = registry.mark();
    let error = user.fail(&["pull", &registry.url("big/chart:1.0.0"), "--plain-http"]);
    assert!(
        error.contains(&format!(
            "layer {layer} of big/chart (as its manifest declares) is 62914560 bytes; the limit is 52428800 bytes"
        )),
        "{error}"
    );
    assert_eq!(
        registry.requests_since(mark),
        ["GET /v2/big/chart/manifests/1.0.0 200"]
    );
}

#[test]
fn basic_auth_login_push_pull_logout_and_clear_refusals() {
    let Some((registry, user, work)) = setup(htpasswd()) else {
        return;
    };
    let host = registry.host();
    let archive = package_chart(work.path(), "private", "1.0.0");
    let archive_arg = archive.display().to_string();
    let destination = registry.url("team");

    let error = user.fail(&["push", &archive_arg, &destination, "--plain-http"]);
    assert!(
        error.contains(&format!(
            "registry {host} refused the request (401 Unauthorized): no credentials were sent: \
             none are stored for {host}; log in with `rchart registry login {host}`"
        )),
        "{error}"
    );

    let wrong = user.login(&host, USER, "not-the-password");
    assert!(!wrong.status.success());
    let error = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        error.contains(&format!(
            "registry {host} refused the request (401 Unauthorized): the credentials of user \
             \"alice\" (from the command line) were sent and refused"
        )),
        "{error}"
    );
    assert!(
        !user.docker_config().exists(),
        "nothing is stored for a failed login"
    );

    let login = user.login(&host, USER, PASSWORD);
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(user.docker_config()).unwrap()).unwrap();
    assert_eq!(config["auths"][&host]["auth"], "YWxpY2U6d29uZGVybGFuZA==");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(user.docker_config())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "config.json must be private");
    }

    let reference = user.push(&archive, &destination);
    let out = work.path().join("out");
    assert_pull_gives(&user, &reference, &archive, &out, &["--plain-http"]);

    // Credentials that were good once and are wrong now.
    let stale = OciUser::new();
    std::fs::create_dir_all(stale.docker_config().parent().unwrap()).unwrap();
    std::fs::write(
        stale.docker_config(),
        format!(r#"{{"auths": {{"{host}": {{"auth": "YWxpY2U6b2xk"}}}}}}"#),
    )
    .unwrap();
    let error = stale.fail(&["pull", &reference, "--plain-http"]);
    assert!(
        error.contains(&format!(
            "the credentials of user \"alice\" (from {}) were sent and refused; check them, \
             or log in again with `rchart registry login {host}`",
            stale.docker_config().display()
        )),
        "{error}"
    );

    let stdout = user.run(&["registry", "logout", &host]);
    assert!(
        stdout.contains(&format!("Removed the credentials for {host}")),
        "{stdout}"
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(user.docker_config()).unwrap()).unwrap();
    assert!(config["auths"].get(&host).is_none(), "{config}");
    let error = user.fail(&["push", &archive_arg, &destination, "--plain-http"]);
    assert!(error.contains("no credentials were sent"), "{error}");
    let error = user.fail(&["registry", "logout", &host]);
    assert!(
        error.contains(&format!("not logged in to {host}")),
        "{error}"
    );
}

#[test]
fn bearer_tokens_from_a_token_service() {
    let Some(tokens) = TokenServer::start(&[(USER, PASSWORD)]) else {
        return;
    };
    let Some(registry) = TestRegistry::with(tokens.registry_auth()) else {
        return;
    };
    let host = registry.host();
    let user = OciUser::new();
    let work = tempfile::tempdir().unwrap();
    let archive = package_chart(work.path(), "tokened", "1.0.0");
    let archive_arg = archive.display().to_string();

    let error = user.fail(&["push", &archive_arg, &registry.url("team"), "--plain-http"]);
    assert!(
        error.contains(&format!(
            "registry {host} refused the request (401 Unauthorized): an anonymous token was sent and refused"
        )) && error.contains(&format!("log in with `rchart registry login {host}`")),
        "{error}"
    );

    let wrong = user.login(&host, USER, "nope");
    let error = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        error.contains(&format!(
            "registry {host}: the token service http://127.0.0.1:{}/token refused the credentials \
             of user \"alice\" (from the command line) (HTTP 401)",
            tokens.port
        )),
        "{error}"
    );

    let login = user.login(&host, USER, PASSWORD);
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let reference = user.push(&archive, &registry.url("team"));

    let fresh_cache = OciUser::new();
    std::fs::create_dir_all(fresh_cache.docker_config().parent().unwrap()).unwrap();
    std::fs::copy(user.docker_config(), fresh_cache.docker_config()).unwrap();
    let before = tokens.requests();
    let mark = registry.mark();
    let out = work.path().join("out");
    assert_pull_gives(&fresh_cache, &reference, &archive, &out, &["--plain-http"]);
    // One token for the command: the refused manifest request, the token, then the
    // manifest and the layer with it.
    assert_eq!(tokens.requests() - before, 1);
    let requests = registry.requests_since(mark);
    assert_eq!(requests.len(), 3, "{requests:#?}");
    assert!(requests[0].ends_with(" 401"), "{requests:#?}");
}

#[test]
fn credential_helpers_store_and_serve_the_password() {
    let Some((registry, user, work)) = setup(htpasswd()) else {
        return;
    };
    let host = registry.host();
    let helpers = work.path().join("bin");
    let store = work.path().join("helper-store");
    std::fs::create_dir_all(&helpers).unwrap();
    std::fs::create_dir_all(&store).unwrap();
    let helper = helpers.join("docker-credential-rcharttest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nstore={}\ncase \"$1\" in\n\
             store) cat > \"$store/entry.json\" ;;\n\
             get) cat > /dev/null; if [ -f \"$store/entry.json\" ]; then cat \"$store/entry.json\"; \
             else echo 'credentials not found in native keychain'; exit 1; fi ;;\n\
             erase) cat > /dev/null; rm -f \"$store/entry.json\" ;;\n\
             esac\n",
            store.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        helpers.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let user = user.with_env("PATH", &path);
    std::fs::create_dir_all(user.docker_config().parent().unwrap()).unwrap();
    std::fs::write(user.docker_config(), r#"{"credsStore": "rcharttest"}"#).unwrap();

    let login = user.login(&host, USER, PASSWORD);
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let config = std::fs::read_to_string(user.docker_config()).unwrap();
    assert!(
        !config.contains("auths"),
        "the helper holds the password: {config}"
    );
    assert!(store.join("entry.json").exists());

    let archive = package_chart(work.path(), "helped", "1.0.0");
    user.push(&archive, &registry.url("team"));
    user.run(&["registry", "logout", &host]);
    assert!(!store.join("entry.json").exists());
}

#[test]
fn tls_with_a_private_ca() {
    let Some(tls) = TlsFiles::generate() else {
        return;
    };
    let Some(registry) = TestRegistry::with_tls(&tls) else {
        return;
    };
    let (user, work) = (OciUser::new(), tempfile::tempdir().unwrap());
    let archive = package_chart(work.path(), "secure", "1.0.0");
    let archive_arg = archive.display().to_string();
    let destination = registry.url("charts");

    let error = user.fail(&["push", &archive_arg, &destination]);
    assert!(
        error.contains("(if it uses a private CA, pass it with --ca-file)"),
        "{error}"
    );
    let ca = tls.ca.display().to_string();
    let reference = user.run(&["push", &archive_arg, &destination, "--ca-file", &ca]);
    let reference = reference.trim();
    let out = work.path().join("out");
    assert_pull_gives(
        &user,
        reference,
        &archive,
        &out,
        &["--insecure-skip-tls-verify"],
    );
    let fresh = OciUser::new();
    assert_pull_gives(&fresh, reference, &archive, &out, &["--ca-file", &ca]);
}

#[test]
fn plain_http_to_a_remote_host_is_refused_without_asking() {
    // No request is sent: the refusal comes before any connection.
    let user = OciUser::new();
    let error = user.fail(&[
        "pull",
        "oci://registry.example.com/charts/web",
        "--version",
        "1.0.0",
        "--plain-http",
    ]);
    assert!(
        error.contains("refusing plain HTTP to registry.example.com: it is not a loopback address"),
        "{error}"
    );
}

#[test]
fn bad_references_and_flags_are_named() {
    let user = OciUser::new();
    let error = user.fail(&["pull", "oci://127.0.0.1:5000/Charts/Web"]);
    assert!(
        error.contains("invalid OCI reference \"oci://127.0.0.1:5000/Charts/Web\""),
        "{error}"
    );
    let error = user.fail(&[
        "pull",
        "oci://127.0.0.1:5000/web:1.0.0",
        "--version",
        "1.0.0",
    ]);
    assert!(error.contains("already names a tag or digest"), "{error}");
    let error = user.fail(&["push", "missing.tgz", "oci://127.0.0.1:5000/charts:1.0.0"]);
    assert!(error.contains("without a tag or digest"), "{error}");
}

/// `install`, `upgrade`, `template` and `diff upgrade` take `oci://` references with
/// `--version` and the connection flags, the record keeps the manifest digest, `status`
/// shows it, and `rollback` asks the registry nothing.
#[test]
fn install_from_oci_by_tag_and_by_digest_and_rollback_without_the_registry() {
    let Some((registry, _, work)) = setup(Auth::Anonymous) else {
        return;
    };
    let cluster = crate::support::TestCluster::start();
    let user = user_of(&cluster);
    let chart = registry.url("charts/web");
    let first = user.push(
        &package_chart(work.path(), "web", "1.0.0"),
        &registry.url("charts"),
    );
    let second = user.push(
        &package_chart(work.path(), "web", "1.1.0"),
        &registry.url("charts"),
    );

    let rendered = user.run(&[
        "template",
        "web",
        &chart,
        "--version",
        "1.0.0",
        "--plain-http",
    ]);
    assert!(rendered.contains("kind: ConfigMap"), "{rendered}");

    user.run(&[
        "install",
        "web",
        &chart,
        "--version",
        "1.0.0",
        "--plain-http",
        "-n",
        "default",
    ]);
    let status = user.run(&["status", "web", "-n", "default"]);
    assert!(status.contains(digest_of(&first)), "{status}");

    let by_digest = format!("{chart}@{}", digest_of(&second));
    user.run(&[
        "upgrade",
        "web",
        &by_digest,
        "--plain-http",
        "-n",
        "default",
    ]);
    let status = user.run(&["status", "web", "-n", "default"]);
    assert!(status.contains(digest_of(&second)), "{status}");
    let diff = user.run(&[
        "diff",
        "upgrade",
        "web",
        &by_digest,
        "--plain-http",
        "-n",
        "default",
    ]);
    assert!(diff.contains("no changes"), "{diff}");
    let shown = user.run(&[
        "show",
        "chart",
        &chart,
        "--version",
        "1.1.0",
        "--plain-http",
    ]);
    assert!(shown.contains("version: \"1.1.0\""), "{shown}");

    let mark = registry.mark();
    user.run(&["rollback", "web", "1", "-n", "default"]);
    assert_eq!(registry.requests_since(mark), Vec::<String>::new());
    let status = user.run(&["status", "web", "-n", "default"]);
    assert!(status.contains(digest_of(&first)), "{status}");
}
