//! The bundled chart (`chart/`) with the environment values (`values/`) really runs the
//! multiroute server.
//!
//! Each test renders the chart with the real `rchart` binary, then does with the manifests
//! what a kubelet would, without a cluster ([`kubelet`]): it writes the mounted ConfigMap
//! to a directory standing in for the volume, resolves the container's environment
//! (Secrets included), starts the `multiroute` binary with the container's arguments, and
//! asks it over HTTP what the probes, the Service and the Ingress would.

mod http;
mod kubelet;
mod manifests;

use std::path::Path;

use serde_json::Value;

use self::kubelet::{ExternalSecret, RunningPod, run_test_pod, start_pod};
use self::manifests::{
    Rendered, assert_kubernetes_knows_every_field, chart_dir, configured_routes, container,
    decoded_secret_value, find_service_port, ingress_paths, is_subset, mounted_config_maps, render,
    resolve_container_port, routes_of_values_file, values_file,
};
use crate::support::{assert_golden, rchart, stderr_of, stdout_of};

/// The release name every test renders with, as the docs install it.
const RELEASE: &str = "multiroute";

/// The Secrets staging and production create out of band: their values files only name
/// them, so the test plays the cluster and supplies them.
const STAGING_DB_SECRET: ExternalSecret = ExternalSecret {
    namespace: "backend-staging",
    name: "multiroute-db",
    key: "db_pass",
    value: "staging-password-from-the-vault",
};

const PROD_DB_SECRET: ExternalSecret = ExternalSecret {
    namespace: "backend",
    name: "multiroute-db",
    key: "db_pass",
    value: "prod-password-from-the-vault",
};

#[test]
fn dev_values_run_the_server() {
    let rendered = render(&["-n", "backend-dev", "-f", &values_file("dev.yaml")]);

    // Dev carries its own throwaway password, so the chart renders the Secret itself.
    let secret = rendered.one("Secret");
    assert_eq!(decoded_secret_value(secret, "db_pass"), "dev-only-password");
    let routes = configured_routes(&rendered);
    for (path, content) in routes_of_values_file("dev.yaml") {
        assert_eq!(
            routes.get(&path),
            Some(&content),
            "route {path} of dev.yaml"
        );
    }

    run_and_check(&rendered, &[]);
    assert_golden("multiroute-dev.yaml", &rendered.text);
}

#[test]
fn staging_values_run_the_server_with_the_out_of_band_secret() {
    let rendered = render(&["-n", "backend-staging", "-f", &values_file("staging.yaml")]);
    assert_no_password_and_a_pinned_image(&rendered, "backend-staging");
    run_and_check(&rendered, &[STAGING_DB_SECRET]);
}

#[test]
fn prod_values_run_the_server_with_the_out_of_band_secret() {
    let rendered = render(&["-n", "backend", "-f", &values_file("prod.yaml")]);
    assert_no_password_and_a_pinned_image(&rendered, "backend");
    run_and_check(&rendered, &[PROD_DB_SECRET]);
    assert_golden("multiroute-prod.yaml", &rendered.text);
}

/// Checks the manifests, then runs their pod, checks what it serves, and runs the test
/// hook against it.
fn run_and_check(rendered: &Rendered, external_secrets: &[ExternalSecret]) {
    assert_kubernetes_knows_every_field(rendered);
    check_user_and_shutdown_timing(rendered.one("Deployment"));
    let pod = start_pod(rendered, external_secrets);
    check_pod_serves_what_the_manifests_promise(rendered, &pod);
    run_test_pod(rendered, &pod);
}

fn assert_no_password_and_a_pinned_image(rendered: &Rendered, namespace: &str) {
    assert!(
        rendered.all("Secret").is_empty(),
        "no Secret may be rendered: the password is created out of band"
    );
    let deployment = rendered.one("Deployment");
    assert_eq!(deployment["metadata"]["namespace"], namespace);
    let image = container(deployment)["image"].as_str().unwrap();
    assert!(
        image.starts_with("ghcr.io/example/multiroute:") && image.contains("@sha256:"),
        "the image must be pinned by digest: {image}"
    );
}

#[test]
fn route_text_reaches_the_server_unchanged() {
    // Texts a YAML 1.1 reader would turn into booleans or numbers, YAML syntax inside
    // text, several lines, non-ASCII paths.
    let routes = serde_json::json!({
        "/yes": "yes",
        "/octal": "0644",
        "/null": "null",
        "/syntax": "a: b # not a comment, [not a list]",
        "/lines": "first line\nsecond line\n",
        "/quotes": "it's \"quoted\"",
        "/caf\u{e9} au lait": "na\u{ef}ve \u{2615}",
    });
    let routes_json = format!("routes={routes}");
    let rendered = render(&[
        "-n",
        "backend-dev",
        "-f",
        &values_file("dev.yaml"),
        "--set-json",
        &routes_json,
    ]);
    let configured = configured_routes(&rendered);
    for (path, content) in routes.as_object().unwrap() {
        assert_eq!(
            configured.get(path).map(String::as_str),
            content.as_str(),
            "{path}"
        );
    }
    run_and_check(&rendered, &[]);
}

#[test]
fn a_route_change_renames_the_configmap_and_rolls_the_pods() {
    let prod = values_file("prod.yaml");
    let base_args = ["-n", "backend", "-f", prod.as_str()];
    let base = render(&base_args);

    let changed_args = [&base_args[..], &["--set", "routes./route1=new content"]].concat();
    let changed = render(&changed_args);
    assert_eq!(
        configured_routes(&changed)
            .get("/route1")
            .map(String::as_str),
        Some("new content")
    );

    let base_config = base.one("ConfigMap")["metadata"]["name"].as_str().unwrap();
    let changed_config = changed.one("ConfigMap")["metadata"]["name"]
        .as_str()
        .unwrap();
    assert_ne!(
        base_config, changed_config,
        "a new config needs a new ConfigMap"
    );
    for (rendered, config) in [(&base, base_config), (&changed, changed_config)] {
        assert_eq!(mounted_config_maps(rendered.one("Deployment")), [config]);
    }
    assert_ne!(
        base.one("Deployment")["spec"]["template"],
        changed.one("Deployment")["spec"]["template"],
        "the pod template must change so that the Deployment rolls"
    );
    assert_eq!(
        base.one("Service"),
        changed.one("Service"),
        "only the config and what refers to it change"
    );

    // Unchanged values render the same bytes, so a rollback (rendering the old values
    // again) brings back the old ConfigMap and pod template exactly.
    assert_eq!(render(&base_args).text, base.text);
}

/// From the repository root, as the environments of rchart.yaml are linted: the chart
/// and the namespace come from there.
#[test]
fn every_environment_passes_lint() {
    for (file, strict) in [
        ("prod.yaml", true),
        ("staging.yaml", true),
        ("dev.yaml", false),
    ] {
        let mut command = rchart();
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("lint")
            .args(["-f", &format!("values/{file}")]);
        if strict {
            command.arg("--strict");
        }
        let output = command.output().unwrap();
        let text = stdout_of(&output);
        assert!(output.status.success(), "lint with {file}:\n{text}");
        assert!(text.contains("0 error(s)"), "lint with {file}:\n{text}");
        if strict {
            assert!(text.contains(" 0 warning(s)"), "lint with {file}:\n{text}");
        }
    }
}

#[test]
fn without_a_secret_to_reference_rendering_says_what_to_set() {
    let output = rchart()
        .args(["template", RELEASE])
        .arg(chart_dir())
        .args([
            "-f",
            &values_file("prod.yaml"),
            "--set",
            "db.existingSecret=",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(
            "db.existingSecret: name the Secret that holds the database password (created out of band in the release's namespace), or set db.password for development"
        ),
        "{stderr}"
    );
}

#[test]
fn the_ingress_exposes_only_configured_routes() {
    let subset = render(&["--set-json", r#"ingress.paths=["/route2"]"#]);
    assert_eq!(ingress_paths(subset.one("Ingress")), ["/route2"]);

    let output = rchart()
        .args(["template", RELEASE])
        .arg(chart_dir())
        .args(["--set-json", r#"ingress.paths=["/route9"]"#])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(r#"ingress.paths: "/route9" is not one of the routes (/route1, /route2)"#),
        "{stderr}"
    );

    let disabled = render(&["--set", "ingress.enabled=false"]);
    assert!(disabled.all("Ingress").is_empty());
}

#[test]
fn the_schema_rejects_unpinnable_digests_and_routes_without_a_slash() {
    let output = rchart()
        .args(["template", RELEASE])
        .arg(chart_dir())
        .args([
            "--set",
            "image.digest=sha256:1234",
            "--set",
            "routes.route3=x",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    for expected in [
        r#"image.digest: "sha256:1234" does not match "^sha256:[0-9a-f]{64}$""#,
        r#"routes: "route3" does not match "^/""#,
    ] {
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in:\n{stderr}"
        );
    }
}

// --- What the manifests promise, checked against the running server -----------------------

/// Probes, routes, Service and Ingress, each asked of the server the way Kubernetes would.
fn check_pod_serves_what_the_manifests_promise(rendered: &Rendered, pod: &RunningPod) {
    let deployment = rendered.one("Deployment");
    let container = container(deployment);

    for probe in ["livenessProbe", "readinessProbe"] {
        let http_get = &container[probe]["httpGet"];
        assert_eq!(
            resolve_container_port(container, &http_get["port"]),
            pod.container_port,
            "{probe} port"
        );
        let path = http_get["path"].as_str().unwrap();
        let (status, body) = pod.get(path);
        assert_eq!(status, 200, "{probe} {path}: {body}");
    }
    let (_, readiness) = pod.get(
        container["readinessProbe"]["httpGet"]["path"]
            .as_str()
            .unwrap(),
    );
    assert!(
        readiness.contains(r#""db_pass_set":true"#),
        "DB_PASS did not reach the server: {readiness}"
    );

    let routes = configured_routes(rendered);
    assert!(!routes.is_empty());
    for (path, content) in &routes {
        let (status, body) = pod.get(path);
        assert_eq!(status, 200, "GET {path}");
        assert_eq!(body, format!("Hello, You are at {path}, Got: {content}"));
    }

    let service = rendered.one("Service");
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert!(
        is_subset(&service["spec"]["selector"], pod_labels),
        "the Service selects the pods"
    );
    assert!(
        is_subset(&deployment["spec"]["selector"]["matchLabels"], pod_labels),
        "the Deployment selects its own pods"
    );

    let ingress = rendered.one("Ingress");
    assert!(!ingress_paths(ingress).is_empty());
    for rule in ingress["spec"]["rules"].as_array().unwrap() {
        for entry in rule["http"]["paths"].as_array().unwrap() {
            let path = entry["path"].as_str().unwrap();
            assert_eq!(entry["pathType"], "Prefix", "{path}");
            assert!(
                routes.contains_key(path),
                "Ingress path {path} is not a route"
            );
            let backend = &entry["backend"]["service"];
            assert_eq!(backend["name"], service["metadata"]["name"], "{path}");
            let service_port = find_service_port(service, &backend["port"]);
            assert_eq!(
                resolve_container_port(container, &service_port["targetPort"]),
                pod.container_port,
                "Ingress {path} → Service port {service_port} → targetPort"
            );
            let (status, body) = pod.get(path);
            assert_eq!(status, 200, "Ingress path {path}: {body}");
        }
    }
}

/// The pod runs as the image's own non-root user, and Kubernetes waits for the server's
/// whole shutdown (delay, then drain) before it kills the container.
fn check_user_and_shutdown_timing(deployment: &Value) {
    let pod = &deployment["spec"]["template"]["spec"];
    let dockerfile =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile")).unwrap();
    let image_user = dockerfile
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("USER "))
        .and_then(|user| user.split(':').next()?.trim().parse::<u64>().ok())
        .expect("the Dockerfile's final USER is numeric");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], image_user);

    let seconds = |variable: &str| -> u64 {
        let value = container(deployment)["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|env| env["name"] == variable)
            .and_then(|env| env["value"].as_str())
            .unwrap_or_else(|| panic!("the chart sets {variable} explicitly"));
        value
            .strip_suffix('s')
            .and_then(|number| number.parse().ok())
            .unwrap_or_else(|| {
                panic!("{variable}: expected whole seconds such as 10s, got {value}")
            })
    };
    let shutdown = seconds("MULTIROUTE_SHUTDOWN_DELAY") + seconds("MULTIROUTE_DRAIN_TIMEOUT");
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(
        grace > shutdown,
        "terminationGracePeriodSeconds {grace} must exceed the shutdown delay plus drain ({shutdown}s)"
    );
}
