//! Requests over HTTP: discovery, CRUD, errors, selectors, metadata and validation.

use rchart_test_apiserver::{KubeconfigOptions, TestApiServer};
use serde_json::{Value, json};

use crate::support::{
    Client, config_map, deployment, item_names, labelled_config_map, namespace, server,
};

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

#[test]
fn discovery_lists_versions_groups_and_resources() {
    let (_server, client) = server();
    let version = client.get("/version").body;
    assert_eq!(
        (version["major"].as_str(), version["minor"].as_str()),
        (Some("1"), Some("34"))
    );

    assert_eq!(client.get("/api").body["versions"], json!(["v1"]));
    let core = client.get("/api/v1").body;
    assert_eq!(core["kind"], "APIResourceList");
    let configmaps = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "configmaps")
        .unwrap();
    assert_eq!(configmaps["shortNames"], json!(["cm"]));
    assert_eq!(configmaps["namespaced"], true);
    assert_eq!(configmaps["kind"], "ConfigMap");
    assert!(
        configmaps["verbs"]
            .as_array()
            .unwrap()
            .contains(&json!("patch"))
    );

    let groups = client.get("/apis").body;
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    for group in [
        "apps",
        "batch",
        "networking.k8s.io",
        "coordination.k8s.io",
        "rbac.authorization.k8s.io",
    ] {
        assert!(names.contains(&group), "{group} missing from {names:?}");
    }
    assert_eq!(
        client.get("/apis/apps").body["preferredVersion"]["groupVersion"],
        "apps/v1"
    );
    let apps: Vec<String> = client.get("/apis/apps/v1").body["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert!(apps.contains(&"deployments/status".to_string()), "{apps:?}");

    let missing = client.get("/apis/example.com/v1");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["reason"], "NotFound");
}

#[test]
fn aggregated_discovery_is_served_when_asked_for() {
    let (_server, client) = server();
    let accept =
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    let reply = client.send_with_accept("/apis", accept);
    assert_eq!(
        reply.content_type,
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    let apps = reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "apps")
        .unwrap();
    let deployments = apps["versions"][0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "deployments")
        .unwrap();
    assert_eq!(deployments["scope"], "Namespaced");
    assert_eq!(deployments["subresources"][0]["subresource"], "status");
}

#[test]
fn create_get_and_list_have_the_real_shapes() {
    let (_server, client) = server();
    let created = client.post(CONFIGMAPS, &config_map("settings", json!({"a": "1"})));
    assert_eq!(created.status, 201);
    let metadata = &created.body["metadata"];
    assert_eq!(metadata["namespace"], "default");
    assert_eq!(metadata["uid"].as_str().unwrap().len(), 36);
    assert!(
        metadata["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    assert!(
        metadata["creationTimestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(
        metadata.get("generation").is_none(),
        "ConfigMaps have no generation"
    );

    let fetched = client.get(&format!("{CONFIGMAPS}/settings"));
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, created.body);

    let list = client.get(CONFIGMAPS).body;
    assert_eq!(list["kind"], "ConfigMapList");
    assert_eq!(list["apiVersion"], "v1");
    assert!(list["metadata"]["resourceVersion"].is_string());
    assert!(item_names(&list).contains(&"settings".to_string()));
    let item = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["metadata"]["name"] == "settings")
        .unwrap();
    assert!(
        item.get("kind").is_none(),
        "list items of built-in types carry no kind"
    );
}

#[test]
fn every_namespace_starts_with_a_service_account_and_the_root_ca() {
    let (_server, client) = server();
    assert_eq!(
        client.post("/api/v1/namespaces", &namespace("team")).status,
        201
    );
    assert_eq!(
        client
            .get("/api/v1/namespaces/team/serviceaccounts/default")
            .status,
        200
    );
    let ca = client
        .get("/api/v1/namespaces/team/configmaps/kube-root-ca.crt")
        .body;
    assert!(
        ca["data"]["ca.crt"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
}

#[test]
fn not_found_and_already_exists_have_the_real_messages() {
    let (_server, client) = server();
    let missing = client.get(&format!("{CONFIGMAPS}/x"));
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body.to_string(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"x\" not found","reason":"NotFound","details":{"name":"x","kind":"configmaps"},"code":404}"#
    );

    client.post(CONFIGMAPS, &config_map("x", json!({})));
    let duplicate = client.post(CONFIGMAPS, &config_map("x", json!({})));
    assert_eq!(duplicate.status, 409);
    assert_eq!(duplicate.body["reason"], "AlreadyExists");
    assert_eq!(duplicate.body["message"], "configmaps \"x\" already exists");

    let wrong_method = client.post(&format!("{CONFIGMAPS}/x"), &config_map("x", json!({})));
    assert_eq!(
        (wrong_method.status, wrong_method.body["reason"].as_str()),
        (405, Some("MethodNotAllowed"))
    );

    let deployments = client.get("/apis/apps/v1/namespaces/default/deployments/web");
    assert_eq!(
        deployments.body["message"],
        "deployments.apps \"web\" not found"
    );
    assert_eq!(deployments.body["details"]["group"], "apps");
}

#[test]
fn objects_in_a_missing_namespace_are_rejected() {
    let (_server, client) = server();
    let reply = client.post(
        "/api/v1/namespaces/nowhere/configmaps",
        &config_map("x", json!({})),
    );
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["message"], "namespaces \"nowhere\" not found");
    assert_eq!(
        reply.body["details"],
        json!({"name": "nowhere", "kind": "namespaces"})
    );
    // Listing a missing namespace is just empty, as on a real cluster.
    assert_eq!(
        client.get("/api/v1/namespaces/nowhere/configmaps").body["items"],
        json!([])
    );
}

#[test]
fn cluster_scoped_objects_and_lists_across_namespaces() {
    let (_server, client) = server();
    client.post("/api/v1/namespaces", &namespace("one"));
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "system:reader"}, "rules": []});
    assert_eq!(
        client
            .post("/apis/rbac.authorization.k8s.io/v1/clusterroles", &role)
            .status,
        201
    );
    assert!(
        client
            .get("/apis/rbac.authorization.k8s.io/v1/clusterroles/system:reader")
            .body["metadata"]
            .get("namespace")
            .is_none()
    );

    client.post(
        CONFIGMAPS,
        &labelled_config_map("a", json!({"spread": "yes"})),
    );
    client.post(
        "/api/v1/namespaces/one/configmaps",
        &labelled_config_map("b", json!({"spread": "yes"})),
    );
    let all = client
        .get("/api/v1/configmaps?labelSelector=spread%3Dyes")
        .body;
    assert_eq!(item_names(&all), ["a", "b"]);
    let namespaces: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(namespaces, ["default", "one"]);
}

#[test]
fn label_and_field_selectors() {
    let (_server, client) = server();
    client.post(
        CONFIGMAPS,
        &labelled_config_map("web", json!({"app": "web", "tier": "front"})),
    );
    client.post(
        CONFIGMAPS,
        &labelled_config_map("api", json!({"app": "api", "tier": "back"})),
    );
    client.post(CONFIGMAPS, &labelled_config_map("db", json!({"app": "db"})));
    let names = |selector: &str| {
        let query: String = selector
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let mut names = item_names(
            &client
                .get(&format!("{CONFIGMAPS}?labelSelector={query}"))
                .body,
        );
        names.retain(|n| n != "kube-root-ca.crt");
        names
    };
    assert_eq!(names("app=web"), ["web"]);
    assert_eq!(names("app==api"), ["api"]);
    assert_eq!(names("app!=web,tier"), ["api"]);
    assert_eq!(names("app in (web,db)"), ["db", "web"]);
    assert_eq!(names("app notin (web,db)"), ["api"]);
    assert_eq!(names("tier"), ["api", "web"]);
    assert_eq!(names("!tier,app"), ["db"]);

    let by_name = client
        .get(&format!("{CONFIGMAPS}?fieldSelector=metadata.name%3Dapi"))
        .body;
    assert_eq!(item_names(&by_name), ["api"]);
    let by_namespace = client
        .get("/api/v1/configmaps?fieldSelector=metadata.namespace%3Ddefault,metadata.name%3Ddb")
        .body;
    assert_eq!(item_names(&by_namespace), ["db"]);

    let bad = client.get(&format!("{CONFIGMAPS}?labelSelector=app%20in%20web"));
    assert_eq!(
        (bad.status, bad.body["reason"].as_str()),
        (400, Some("BadRequest"))
    );
    let unsupported = client.get(&format!("{CONFIGMAPS}?fieldSelector=spec.x%3D1"));
    assert_eq!(
        unsupported.body["message"],
        "field label not supported: spec.x"
    );
}

#[test]
fn lists_paginate_with_limit_and_continue() {
    let (_server, client) = server();
    for name in ["p1", "p2", "p3"] {
        client.post(
            CONFIGMAPS,
            &labelled_config_map(name, json!({"page": "yes"})),
        );
    }
    let first = client
        .get(&format!("{CONFIGMAPS}?labelSelector=page%3Dyes&limit=2"))
        .body;
    assert_eq!(item_names(&first), ["p1", "p2"]);
    let token = first["metadata"]["continue"]
        .as_str()
        .expect("continue token");
    let second = client
        .get(&format!(
            "{CONFIGMAPS}?labelSelector=page%3Dyes&limit=2&continue={token}"
        ))
        .body;
    assert_eq!(item_names(&second), ["p3"]);
    assert!(second["metadata"].get("continue").is_none());
}

#[test]
fn replace_checks_the_resource_version() {
    let (server, client) = server();
    let created = client
        .post(CONFIGMAPS, &config_map("x", json!({"a": "1"})))
        .body;
    let mut update = created.clone();
    update["data"]["a"] = json!("2");
    let replaced = client.put(&format!("{CONFIGMAPS}/x"), &update);
    assert_eq!(replaced.status, 200);
    let before: u64 = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let after: u64 = replaced.body["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(after > before);
    assert_eq!(server.resource_version(), after);

    let stale = client.put(&format!("{CONFIGMAPS}/x"), &update);
    assert_eq!(stale.status, 409);
    assert_eq!(stale.body["reason"], "Conflict");
    assert_eq!(
        stale.body["message"],
        "Operation cannot be fulfilled on configmaps \"x\": the object has been modified; please apply your changes to the latest version and try again"
    );

    let stale_patch = client.patch(
        &format!("{CONFIGMAPS}/x"),
        "application/merge-patch+json",
        &json!({"metadata": {"resourceVersion": before.to_string()}}).to_string(),
    );
    assert_eq!(stale_patch.status, 409);

    let mut unconditional = update.clone();
    unconditional["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    assert_eq!(
        client
            .put(&format!("{CONFIGMAPS}/x"), &unconditional)
            .status,
        200
    );

    assert_eq!(
        client
            .put(&format!("{CONFIGMAPS}/y"), &config_map("y", json!({})))
            .status,
        404
    );
    let renamed = client.put(&format!("{CONFIGMAPS}/x"), &config_map("z", json!({})));
    assert_eq!(
        renamed.body["message"],
        "the name of the object (z) does not match the name on the URL (x)"
    );
}

#[test]
fn generation_tracks_spec_and_status_is_a_subresource() {
    let (_server, client) = server();
    let path = "/apis/apps/v1/namespaces/default/deployments";
    let mut body = deployment("web", 1, "nginx:1");
    body["status"] = json!({"replicas": 99});
    let created = client.post(path, &body).body;
    assert_eq!(created["metadata"]["generation"], 1);
    assert!(
        created
            .get("status")
            .is_none_or(|s| s.get("replicas") != Some(&json!(99))),
        "status is ignored on create"
    );

    let labelled = client
        .patch(
            &format!("{path}/web"),
            "application/merge-patch+json",
            r#"{"metadata":{"labels":{"x":"y"}}}"#,
        )
        .body;
    assert_eq!(
        labelled["metadata"]["generation"], 1,
        "metadata changes keep the generation"
    );
    let scaled = client
        .patch(
            &format!("{path}/web"),
            "application/merge-patch+json",
            r#"{"spec":{"replicas":3}}"#,
        )
        .body;
    assert_eq!(scaled["metadata"]["generation"], 2);

    let ignored = client
        .patch(
            &format!("{path}/web"),
            "application/merge-patch+json",
            r#"{"status":{"replicas":42}}"#,
        )
        .body;
    assert_ne!(
        ignored["status"]["replicas"], 42,
        "the main resource ignores status"
    );

    let status = client.patch(
        &format!("{path}/web/status"),
        "application/merge-patch+json",
        r#"{"status":{"replicas":42},"spec":{"replicas":9}}"#,
    );
    assert_eq!(status.status, 200);
    assert_eq!(status.body["status"]["replicas"], 42);
    assert_eq!(
        status.body["spec"]["replicas"], 3,
        "the status subresource ignores spec"
    );
    assert_eq!(status.body["metadata"]["generation"], 2);
}

#[test]
fn delete_answers_like_the_real_server() {
    let (_server, client) = server();
    let created = client.post(CONFIGMAPS, &config_map("x", json!({}))).body;
    let deleted = client.delete(&format!("{CONFIGMAPS}/x"));
    assert_eq!(deleted.status, 200);
    assert_eq!(
        deleted.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
               "details": {"name": "x", "group": "", "kind": "configmaps", "uid": created["metadata"]["uid"]}})
    );
    assert_eq!(client.get(&format!("{CONFIGMAPS}/x")).status, 404);
    assert_eq!(client.delete(&format!("{CONFIGMAPS}/x")).status, 404);

    let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}});
    client.post("/api/v1/namespaces/default/services", &service);
    let deleted = client.delete_with(
        "/api/v1/namespaces/default/services/svc",
        &json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}),
    );
    assert_eq!(
        deleted.body["kind"], "Service",
        "services answer with the deleted object"
    );

    client.post(CONFIGMAPS, &config_map("guarded", json!({})));
    let wrong_uid = client.delete_with(
        &format!("{CONFIGMAPS}/guarded"),
        &json!({"preconditions": {"uid": "nope"}}),
    );
    assert_eq!(wrong_uid.status, 409);
    assert!(
        wrong_uid.body["message"]
            .as_str()
            .unwrap()
            .starts_with("Precondition failed: UID in precondition: nope")
    );
}

#[test]
fn deleting_a_namespace_removes_its_objects() {
    let (_server, client) = server();
    client.post("/api/v1/namespaces", &namespace("gone"));
    client.post(
        "/api/v1/namespaces/gone/configmaps",
        &config_map("x", json!({})),
    );
    let deleted = client.delete("/api/v1/namespaces/gone");
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body["status"]["phase"], "Terminating");
    assert_eq!(
        client.get("/api/v1/namespaces/gone/configmaps/x").status,
        404
    );
    assert_eq!(client.get("/api/v1/namespaces/gone").status, 404);
    assert_eq!(client.delete("/api/v1/namespaces/default").status, 403);
}

#[test]
fn delete_collection_by_label() {
    let (_server, client) = server();
    client.post(CONFIGMAPS, &labelled_config_map("a", json!({"batch": "1"})));
    client.post(CONFIGMAPS, &labelled_config_map("b", json!({"batch": "1"})));
    client.post(CONFIGMAPS, &labelled_config_map("c", json!({"batch": "2"})));
    let deleted = client.delete(&format!("{CONFIGMAPS}?labelSelector=batch%3D1"));
    assert_eq!(deleted.body["kind"], "ConfigMapList");
    assert_eq!(item_names(&deleted.body), ["a", "b"]);
    assert_eq!(
        item_names(
            &client
                .get(&format!("{CONFIGMAPS}?labelSelector=batch"))
                .body
        ),
        ["c"]
    );
}

#[test]
fn finalizers_hold_deletion_until_removed() {
    let (_server, client) = server();
    let mut object = config_map("held", json!({}));
    object["metadata"]["finalizers"] = json!(["example.com/hold"]);
    client.post(CONFIGMAPS, &object);
    let deleting = client.delete(&format!("{CONFIGMAPS}/held"));
    assert!(deleting.body["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(client.get(&format!("{CONFIGMAPS}/held")).status, 200);
    let released = client.patch(
        &format!("{CONFIGMAPS}/held"),
        "application/merge-patch+json",
        r#"{"metadata":{"finalizers":null}}"#,
    );
    assert_eq!(released.status, 200);
    assert_eq!(client.get(&format!("{CONFIGMAPS}/held")).status, 404);
}

#[test]
fn merge_strategic_and_json_patches() {
    let (_server, client) = server();
    let path = "/apis/apps/v1/namespaces/default/deployments";
    let mut body = deployment("web", 1, "nginx:1");
    body["spec"]["template"]["spec"]["containers"] =
        json!([{"name": "main", "image": "nginx:1"}, {"name": "sidecar", "image": "proxy:1"}]);
    client.post(path, &body);

    let strategic =
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"proxy:2"}]}}}}"#;
    let patched = client
        .patch(
            &format!("{path}/web"),
            "application/strategic-merge-patch+json",
            strategic,
        )
        .body;
    let images: Vec<&str> = patched["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["image"].as_str().unwrap())
        .collect();
    assert_eq!(
        images,
        ["nginx:1", "proxy:2"],
        "strategic merge keeps containers it does not name"
    );

    let merged = client
        .patch(
            &format!("{path}/web"),
            "application/merge-patch+json",
            strategic,
        )
        .body;
    assert_eq!(
        merged["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "merge patch replaces lists"
    );

    let json_patch = r#"[{"op":"replace","path":"/spec/replicas","value":4},{"op":"add","path":"/metadata/labels/extra","value":"1"}]"#;
    let patched = client
        .patch(
            &format!("{path}/web"),
            "application/json-patch+json",
            json_patch,
        )
        .body;
    assert_eq!(
        (
            patched["spec"]["replicas"].as_i64(),
            patched["metadata"]["labels"]["extra"].as_str()
        ),
        (Some(4), Some("1"))
    );

    let failing = client.patch(
        &format!("{path}/web"),
        "application/json-patch+json",
        r#"[{"op":"test","path":"/spec/replicas","value":1}]"#,
    );
    assert_eq!(failing.status, 422);
    let unknown = client.patch(&format!("{path}/web"), "text/plain", "{}");
    assert_eq!(
        (unknown.status, unknown.body["reason"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );
    let missing = client.patch(
        &format!("{path}/nope"),
        "application/merge-patch+json",
        "{}",
    );
    assert_eq!(missing.status, 404);
}

#[test]
fn server_side_apply_tracks_managers_and_prunes() {
    let (_server, client) = server();
    let path = format!("{CONFIGMAPS}/applied?fieldManager=rchart");
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  labels:\n    app: demo\ndata:\n  a: \"1\"\n  b: \"2\"\n";
    let created = client.patch(&path, "application/apply-patch+yaml", yaml);
    assert_eq!(created.status, 201, "{:?}", created.body);
    let entry = &created.body["metadata"]["managedFields"][0];
    assert_eq!(entry["manager"], "rchart");
    assert_eq!(entry["operation"], "Apply");
    assert_eq!(entry["apiVersion"], "v1");
    assert_eq!(entry["fieldsType"], "FieldsV1");
    assert!(entry["time"].is_string());
    assert_eq!(
        entry["fieldsV1"],
        json!({"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {"f:app": {}}}})
    );

    let smaller =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: \"1\"\n";
    let reapplied = client.patch(&path, "application/apply-patch+yaml", smaller);
    assert_eq!(reapplied.status, 200);
    assert_eq!(
        reapplied.body["data"],
        json!({"a": "1"}),
        "fields dropped from the applied config are removed"
    );
    assert!(reapplied.body["metadata"].get("labels").is_none());

    let same = client.patch(&path, "application/apply-patch+yaml", smaller);
    assert_eq!(
        same.body["metadata"]["resourceVersion"], reapplied.body["metadata"]["resourceVersion"],
        "a no-op apply does not write"
    );
}

#[test]
fn apply_conflicts_name_the_other_manager_unless_forced() {
    let (_server, client) = server();
    client.post(
        &format!("{CONFIGMAPS}?fieldManager=kubectl-edit"),
        &config_map("shared", json!({"a": "1"})),
    );
    let config =
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shared"},"data":{"a":"2"}}"#;
    let conflict = client.patch(
        &format!("{CONFIGMAPS}/shared?fieldManager=rchart"),
        "application/apply-patch+yaml",
        config,
    );
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.body["reason"], "Conflict");
    assert_eq!(
        conflict.body["message"],
        r#"Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.a"#
    );
    assert_eq!(
        conflict.body["details"]["causes"],
        json!([{"reason": "FieldManagerConflict", "message": "conflict with \"kubectl-edit\" using v1", "field": ".data.a"}])
    );

    let forced = client.patch(
        &format!("{CONFIGMAPS}/shared?fieldManager=rchart&force=true"),
        "application/apply-patch+yaml",
        config,
    );
    assert_eq!(forced.status, 200);
    assert_eq!(forced.body["data"]["a"], "2");
    let managers: Vec<(&str, &str)> = forced.body["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["manager"].as_str().unwrap(),
                e["operation"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(managers, [("kubectl-edit", "Update"), ("rchart", "Apply")]);
    let edit_fields = &forced.body["metadata"]["managedFields"][0]["fieldsV1"];
    assert!(
        edit_fields["f:data"].get("f:a").is_none(),
        "forcing takes ownership: {edit_fields}"
    );

    let no_manager = client.patch(
        &format!("{CONFIGMAPS}/shared"),
        "application/apply-patch+yaml",
        config,
    );
    assert_eq!(no_manager.status, 422);
    assert_eq!(
        no_manager.body["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );
}

#[test]
fn dry_run_persists_nothing() {
    let (server, client) = server();
    let before = server.resource_version();
    let created = client.post(
        &format!("{CONFIGMAPS}?dryRun=All"),
        &config_map("dry", json!({})),
    );
    assert_eq!(created.status, 201);
    assert_eq!(created.body["metadata"]["name"], "dry");
    assert_eq!(client.get(&format!("{CONFIGMAPS}/dry")).status, 404);
    assert_eq!(
        server.resource_version(),
        before,
        "dry runs do not bump the resourceVersion"
    );

    client.post(CONFIGMAPS, &config_map("real", json!({"a": "1"})));
    let after_create = server.resource_version();
    let patched = client.patch(
        &format!("{CONFIGMAPS}/real?dryRun=All"),
        "application/merge-patch+json",
        r#"{"data":{"a":"2"}}"#,
    );
    assert_eq!(patched.body["data"]["a"], "2");
    let applied = client.patch(
        &format!("{CONFIGMAPS}/real?dryRun=All&fieldManager=rchart&force=true"),
        "application/apply-patch+yaml",
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"real"},"data":{"a":"3"}}"#,
    );
    assert_eq!(applied.body["data"]["a"], "3");
    assert_eq!(
        client
            .delete(&format!("{CONFIGMAPS}/real?dryRun=All"))
            .status,
        200
    );
    assert_eq!(
        client.get(&format!("{CONFIGMAPS}/real")).body["data"]["a"],
        "1"
    );
    assert_eq!(server.resource_version(), after_create);
}

#[test]
fn validation_errors_match_the_real_server() {
    let (_server, client) = server();
    let bad_name = client.post(CONFIGMAPS, &config_map("Bad_Name", json!({})));
    assert_eq!(bad_name.status, 422);
    assert_eq!(bad_name.body["reason"], "Invalid");
    assert!(bad_name.body["message"].as_str().unwrap().starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"));
    assert_eq!(
        bad_name.body["details"]["causes"][0]["field"],
        "metadata.name"
    );
    assert_eq!(bad_name.body["details"]["kind"], "ConfigMap");

    let nameless = client.post(
        CONFIGMAPS,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
    );
    assert_eq!(
        nameless.body["message"],
        "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required"
    );
    let generated = client.post(
        CONFIGMAPS,
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}),
    );
    assert!(
        generated.body["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("gen-")
    );

    let dotted_service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a.b"}, "spec": {"ports": [{"port": 80}]}});
    assert_eq!(
        client
            .post("/api/v1/namespaces/default/services", &dotted_service)
            .status,
        422
    );

    let wrong_kind = client.post(
        CONFIGMAPS,
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}),
    );
    assert_eq!(
        (wrong_kind.status, wrong_kind.body["reason"].as_str()),
        (400, Some("BadRequest"))
    );
    let wrong_version = client.post(
        CONFIGMAPS,
        &json!({"apiVersion": "v2", "kind": "ConfigMap", "metadata": {"name": "s"}}),
    );
    assert_eq!(wrong_version.status, 400);
    let mut elsewhere = config_map("ns", json!({}));
    elsewhere["metadata"]["namespace"] = json!("other");
    let mismatch = client.post(CONFIGMAPS, &elsewhere);
    assert_eq!(
        mismatch.body["message"],
        "the namespace of the provided object does not match the namespace sent on the request"
    );

    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "not base64!"}});
    let bad_secret = client.post("/api/v1/namespaces/default/secrets", &secret);
    assert_eq!(bad_secret.status, 400);
    assert!(
        bad_secret.body["message"]
            .as_str()
            .unwrap()
            .contains("illegal base64 data at input byte")
    );
}

#[test]
fn config_maps_and_secrets_over_one_mebibyte_are_too_long() {
    let (_server, client) = server();
    const LIMIT: usize = 1_048_576;
    let exact = client.post(
        CONFIGMAPS,
        &config_map("exact", json!({"a": "x".repeat(LIMIT - 1), "b": "y"})),
    );
    assert_eq!(exact.status, 201);
    let over = client.post(
        CONFIGMAPS,
        &config_map("over", json!({"a": "x".repeat(LIMIT), "b": "y"})),
    );
    assert_eq!(over.status, 422);
    assert_eq!(
        over.body["message"],
        "ConfigMap \"over\" is invalid: []: Too long: must have at most 1048576 bytes"
    );
    assert_eq!(
        over.body["details"]["causes"][0]["reason"],
        "FieldValueTooLong"
    );

    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(vec![7u8; LIMIT + 1]);
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "big"}, "data": {"release": encoded}});
    let too_big = client.post("/api/v1/namespaces/default/secrets", &secret);
    assert_eq!(too_big.status, 422);
    assert_eq!(
        too_big.body["message"],
        "Secret \"big\" is invalid: data: Too long: must have at most 1048576 bytes"
    );
}

#[test]
fn custom_resource_definitions_serve_new_types() {
    let (_server, client) = server();
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object"}}}]
        }
    });
    assert_eq!(
        client
            .post(
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                &crd
            )
            .status,
        201
    );
    let stored = client
        .get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")
        .body;
    let established = stored["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "Established" && c["status"] == "True");
    assert!(established, "{stored}");
    let resources = client.get("/apis/example.com/v1").body;
    assert_eq!(resources["resources"][0]["name"], "widgets");

    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 3}});
    assert_eq!(
        client
            .post("/apis/example.com/v1/namespaces/default/widgets", &widget)
            .status,
        201
    );
    let list = client
        .get("/apis/example.com/v1/namespaces/default/widgets")
        .body;
    assert_eq!(list["kind"], "WidgetList");
    assert_eq!(
        list["items"][0]["kind"], "Widget",
        "custom resource list items keep their kind"
    );

    client.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com");
    assert_eq!(
        client
            .get("/apis/example.com/v1/namespaces/default/widgets")
            .status,
        404
    );
}

#[test]
fn credentials_are_checked() {
    let (server, _client) = server();
    let wrong = Client::with_token(&server, Some("wrong"));
    let reply = wrong.get(CONFIGMAPS);
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.body.to_string(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#
    );
    // kubectl sends no credentials to plain-HTTP servers, so anonymous requests pass by default.
    assert_eq!(
        Client::with_token(&server, None).get(CONFIGMAPS).status,
        200
    );

    let strict = TestApiServer::builder()
        .require_token(true)
        .start()
        .unwrap();
    assert_eq!(
        Client::with_token(&strict, None).get(CONFIGMAPS).status,
        401
    );
    assert_eq!(Client::new(&strict).get(CONFIGMAPS).status, 200);
}

#[test]
fn kubeconfigs_point_at_the_server() {
    let server = TestApiServer::builder().namespace("team").start().unwrap();
    let text = std::fs::read_to_string(server.kubeconfig_path()).unwrap();
    assert!(
        text.contains(&format!("server: {}\n", server.url())),
        "{text}"
    );
    assert!(
        text.contains(&format!("token: \"{}\"", server.token())),
        "{text}"
    );
    assert!(text.contains("namespace: \"team\""), "{text}");

    let variant = server
        .kubeconfig_with(
            &KubeconfigOptions::default()
                .wrong_token()
                .namespace("other")
                .unreachable(),
        )
        .unwrap();
    let text = std::fs::read_to_string(variant).unwrap();
    assert!(
        !text.contains(&format!("token: \"{}\"", server.token())),
        "{text}"
    );
    assert!(text.contains("namespace: \"other\""), "{text}");
    assert!(text.contains("server: http://127.0.0.1:1\n"), "{text}");
}

#[test]
fn the_request_log_records_every_api_request_in_order() {
    let (server, client) = server();
    server.clear_requests();
    client.post(
        &format!("{CONFIGMAPS}?fieldManager=test"),
        &config_map("logged", json!({})),
    );
    client.get(&format!("{CONFIGMAPS}/missing"));
    client.patch(
        &format!("{CONFIGMAPS}/logged"),
        "application/merge-patch+json",
        "{}",
    );
    let log = server.requests();
    let summary: Vec<(String, String, Option<u16>)> = log
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.status))
        .collect();
    assert_eq!(
        summary,
        [
            ("POST".to_string(), CONFIGMAPS.to_string(), Some(201)),
            (
                "GET".to_string(),
                format!("{CONFIGMAPS}/missing"),
                Some(404)
            ),
            (
                "PATCH".to_string(),
                format!("{CONFIGMAPS}/logged"),
                Some(200)
            ),
        ]
    );
    assert_eq!(log[0].query_param("fieldManager").as_deref(), Some("test"));
    assert_eq!(log[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(
        log[2].content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    server.clear_requests();
    assert!(server.requests().is_empty());
}

#[test]
fn objects_can_be_seeded_and_read_without_http() {
    let (server, client) = server();
    server
        .create(config_map("seeded", json!({"k": "v"})))
        .unwrap();
    assert_eq!(
        client.get(&format!("{CONFIGMAPS}/seeded")).body["data"]["k"],
        "v"
    );
    let stored = server.get("cm", "default", "seeded").unwrap();
    assert_eq!(
        stored["metadata"]["managedFields"][0]["manager"],
        "test-setup"
    );
    let namespaces: Vec<Value> = server.list("namespaces", None);
    assert_eq!(
        namespaces.len(),
        4,
        "default, kube-node-lease, kube-public and kube-system"
    );
}

#[test]
fn the_scale_subresource_reads_and_writes_replicas() {
    let (_server, client) = server();
    let path = "/apis/apps/v1/namespaces/default/deployments";
    client.post(path, &deployment("web", 2, "nginx:1"));
    let scale = client.get(&format!("{path}/web/scale")).body;
    assert_eq!(
        (scale["kind"].as_str(), scale["apiVersion"].as_str()),
        (Some("Scale"), Some("autoscaling/v1"))
    );
    assert_eq!(scale["spec"]["replicas"], 2);
    assert_eq!(scale["status"]["selector"], "app=web");

    let scaled = client.patch(
        &format!("{path}/web/scale"),
        "application/merge-patch+json",
        r#"{"spec":{"replicas":5}}"#,
    );
    assert_eq!(scaled.body["spec"]["replicas"], 5);
    let deployment = client.get(&format!("{path}/web")).body;
    assert_eq!(
        (
            deployment["spec"]["replicas"].as_i64(),
            deployment["metadata"]["generation"].as_i64()
        ),
        (Some(5), Some(2))
    );
    assert_eq!(
        client
            .get("/api/v1/namespaces/default/configmaps/x/scale")
            .status,
        404
    );
}

#[test]
fn tables_are_served_for_kubectl_get() {
    let (_server, client) = server();
    client.post(
        CONFIGMAPS,
        &config_map("tabled", json!({"a": "1", "b": "2"})),
    );
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let table = client.send_with_accept(CONFIGMAPS, accept).body;
    assert_eq!(table["kind"], "Table");
    let columns: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["Name", "Data", "Age"]);
    let row = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cells"][0] == "tabled")
        .unwrap();
    assert_eq!(row["cells"][1], 2);
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(row["object"]["metadata"]["name"], "tabled");
}
