//! Chart dependencies: subcharts in charts/, file:// dependencies, values, globals,
//! conditions, tags, import-values, library charts, Chart.lock and its errors.

use crate::repo_server::{Workdir, config_map, snapshot};

/// leaf ← mid ← app, all file:// dependencies; mid also under the alias mid2, off by
/// default. `dependency update` is run bottom up.
fn three_levels(work: &Workdir) {
    work.chart(
        "leaf",
        &[
            ("Chart.yaml", "name: leaf\nversion: 1.0.0\n"),
            (
                "values.yaml",
                "greeting: from-leaf\nglobal:\n  leafOnly: l\n",
            ),
            (
                "templates/cm.yaml",
                &config_map(
                    "leaf-{{ values.greeting }}",
                    &[("global", "values.global"), ("chart", "chart.name")],
                ),
            ),
        ],
    );
    work.chart(
        "mid",
        &[
            (
                "Chart.yaml",
                "name: mid\nversion: 1.2.0\ndependencies:\n  - name: leaf\n    version: 1.0.0\n    repository: file://../leaf\n",
            ),
            (
                "values.yaml",
                "leaf:\n  greeting: from-mid\nglobal:\n  midOnly: m\nexports:\n  defaults:\n    settings:\n      port: 8080\n",
            ),
            (
                "templates/cm.yaml",
                &config_map("{{ chart.name }}", &[("global", "values.global")]),
            ),
        ],
    );
    work.chart(
        "app",
        &[
            (
                "Chart.yaml",
                "name: app\nversion: 0.1.0\ndependencies:\n  - name: mid\n    version: \">=1.0.0 <2\"\n    repository: file://../mid\n    import-values:\n      - defaults\n      - child: leaf.greeting\n        parent: fromLeaf\n  - name: mid\n    alias: mid2\n    repository: file://../mid\n    condition: mid2.enabled\n",
            ),
            (
                "values.yaml",
                "global:\n  env: prod\nsettings:\n  port: 1\n  host: parent\nmid:\n  leaf:\n    greeting: from-app\nmid2:\n  enabled: false\n",
            ),
            (
                "templates/cm.yaml",
                &config_map(
                    "app",
                    &[
                        ("global", "values.global"),
                        ("settings", "values.settings"),
                        ("fromLeaf", "values.fromLeaf"),
                        ("midPort", "values.mid.exports.defaults.settings.port"),
                    ],
                ),
            ),
        ],
    );
    work.run(&["dependency", "update", &work.path_str("mid")]);
    work.run(&["dependency", "update", &work.path_str("app")]);
}

#[test]
fn file_dependencies_nest_with_values_globals_alias_condition_and_imports() {
    let work = Workdir::new();
    three_levels(&work);
    let out = work.run(&["template", &work.path_str("app")]);
    // Globals flow down and never up: app sees only its own
    assert!(out.contains("  global: '{\"env\":\"prod\"}'"), "{out}");
    assert!(
        out.contains("  global: '{\"midOnly\":\"m\",\"env\":\"prod\"}'"),
        "{out}"
    );
    assert!(
        out.contains("  global: '{\"leafOnly\":\"l\",\"midOnly\":\"m\",\"env\":\"prod\"}'"),
        "{out}"
    );
    // The top chart's values beat the middle chart's for the leaf
    assert!(out.contains("name: leaf-from-app"), "{out}");
    // Imports override the parent's values.yaml, merging maps
    assert!(
        out.contains("  settings: '{\"port\":8080,\"host\":\"parent\"}'"),
        "{out}"
    );
    assert!(out.contains("  fromLeaf: '\"from-app\"'"), "{out}");
    // A parent reads its subcharts' values
    assert!(out.contains("  midPort: '8080'"), "{out}");
    assert!(
        out.contains("# Source: app/charts/mid/charts/leaf/templates/cm.yaml"),
        "{out}"
    );
    // The condition is false: nothing of mid2 or below it
    assert!(!out.contains("charts/mid2/"), "{out}");

    let out = work.run(&[
        "template",
        &work.path_str("app"),
        "--set",
        "mid2.enabled=true,settings.port=9",
    ]);
    // An alias renames the chart: objects, sources and chart.name
    assert!(
        out.contains("# Source: app/charts/mid2/templates/cm.yaml"),
        "{out}"
    );
    assert!(out.contains("name: mid2\n"), "{out}");
    assert!(
        out.contains("# Source: app/charts/mid2/charts/leaf/templates/cm.yaml"),
        "{out}"
    );
    assert!(out.contains("name: leaf-from-mid"), "{out}");
    // What the user sets beats the import
    assert!(
        out.contains("  settings: '{\"port\":9,\"host\":\"parent\"}'"),
        "{out}"
    );
}

#[test]
fn tags_turn_dependencies_off_and_a_condition_overrides_them() {
    let work = Workdir::new();
    for name in ["a", "b", "c"] {
        work.chart(
            &format!("app/charts/{name}"),
            &[
                ("Chart.yaml", &format!("name: {name}\nversion: 1.0.0\n")),
                ("templates/cm.yaml", &config_map(name, &[])),
            ],
        );
    }
    work.chart(
        "app",
        &[
            (
                "Chart.yaml",
                "name: app\nversion: 0.1.0\ndependencies:\n  - name: a\n    tags: [front]\n  - name: b\n    tags: [front]\n    condition: b.enabled,global.b\n  - name: c\n    tags: [back]\n",
            ),
            ("values.yaml", "tags:\n  front: false\nb:\n  enabled: true\n"),
        ],
    );
    let app = work.path_str("app");
    let sources = |out: &str| -> Vec<String> {
        out.lines()
            .filter_map(|l| l.strip_prefix("# Source: app/charts/"))
            .map(|l| l.split('/').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(sources(&work.run(&["template", &app])), ["b", "c"]);
    assert_eq!(
        sources(&work.run(&["template", &app, "--set", "tags.back=false,tags.front=true"])),
        ["a", "b"]
    );
    // The first condition path that is set decides
    assert_eq!(
        sources(&work.run(&["template", &app, "--set", "b.enabled=false,global.b=true"])),
        ["c"]
    );
    let error = work.fail(&["template", &app, "--set-string", "b.enabled=false"]);
    assert!(
        error.contains(
            "app: dependency \"b\": condition b.enabled is a string; it must be true or false"
        ),
        "{error}"
    );
}

#[test]
fn a_library_chart_lends_components_and_partials_and_renders_nothing() {
    let work = Workdir::new();
    work.chart(
        "app/charts/common",
        &[
            ("Chart.yaml", "name: common\nversion: 0.1.0\ntype: library\n"),
            (
                "templates/_helpers.tpl",
                "{% component common.fullname(@release, @chart) %}{{ release.name }}-{{ chart.name }}{% endcomponent common.fullname %}",
            ),
            (
                "templates/_labels.tpl",
                "app: {{ chart.name }}\n{{ include(name=\"templates/_instance.tpl\") }}",
            ),
            ("templates/_instance.tpl", "instance: {{ release.name }}"),
            ("templates/cm.yaml", &config_map("never-rendered", &[])),
        ],
    );
    work.chart(
        "app",
        &[
            ("Chart.yaml", "name: app\nversion: 0.1.0\ndependencies:\n  - name: common\n    version: 0.x\n"),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{<common.fullname/>}}\n  labels:{{ include(name=\"charts/common/templates/_labels.tpl\") | nindent(width=4) }}\n",
            ),
        ],
    );
    let out = work.run(&["template", "rel", &work.path_str("app")]);
    assert_eq!(
        out,
        "---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rel-app\n  labels:\n    app: app\n    instance: rel\n"
    );

    // A dependency without a repository, unpacked in charts/, is locked and left alone
    let before = snapshot(&work.path("app/charts"));
    work.run(&["dependency", "update", &work.path_str("app")]);
    let lock = std::fs::read_to_string(work.path("app/Chart.lock")).unwrap();
    assert!(
        lock.starts_with("dependencies:\n- name: common\n  repository: \"\"\n  version: 0.1.0\n"),
        "{lock}"
    );
    assert_eq!(snapshot(&work.path("app/charts")), before);

    // A library's components are named after it
    std::fs::write(
        work.path("app/charts/common/templates/_helpers.tpl"),
        "{% component fullname() %}x{% endcomponent fullname %}",
    )
    .unwrap();
    let error = work.fail(&["template", &work.path_str("app")]);
    assert!(
        error.contains("library chart app → common: templates/_helpers.tpl defines component \"fullname\"; a library's components are named after it, e.g. \"common.fullname\""),
        "{error}"
    );
}

#[test]
fn subcharts_may_share_template_and_component_names() {
    let work = Workdir::new();
    for name in ["one", "two"] {
        work.chart(
            &format!("app/charts/{name}"),
            &[
                ("Chart.yaml", &format!("name: {name}\nversion: 1.0.0\n")),
                (
                    "templates/_helpers.tpl",
                    &format!("{{% component fullname(@chart) %}}{name}-{{{{ chart.name }}}}{{% endcomponent fullname %}}"),
                ),
                ("templates/cm.yaml", &config_map("{{<fullname/>}}", &[])),
            ],
        );
    }
    work.chart(
        "app",
        &[
            ("Chart.yaml", "name: app\nversion: 0.1.0\n"),
            (
                "templates/_helpers.tpl",
                "{% component fullname() %}top{% endcomponent fullname %}",
            ),
            ("templates/cm.yaml", &config_map("{{<fullname/>}}", &[])),
        ],
    );
    let out = work.run(&["template", &work.path_str("app")]);
    for name in ["name: top", "name: one-one", "name: two-two"] {
        assert!(out.contains(name), "{out}");
    }
}

#[test]
fn errors_in_subcharts_name_the_chain() {
    let work = Workdir::new();
    three_levels(&work);
    // A template error two levels down
    work.chart(
        "leaf",
        &[("templates/bad.yaml", "x: {{ values.nope.deeper }}\n")],
    );
    work.run(&["dependency", "update", &work.path_str("mid")]);
    work.run(&["dependency", "update", &work.path_str("app")]);
    let error = work.fail(&["template", &work.path_str("app")]);
    assert!(
        error.contains(" --> app → mid → leaf → templates/bad.yaml:1:"),
        "{error}"
    );

    // Values against the subchart's own schema
    std::fs::remove_file(work.path("leaf/templates/bad.yaml")).unwrap();
    work.chart(
        "leaf",
        &[(
            "values.schema.json",
            r#"{"properties": {"greeting": {"type": "string", "maxLength": 5}}}"#,
        )],
    );
    work.run(&["dependency", "update", &work.path_str("mid")]);
    work.run(&["dependency", "update", &work.path_str("app")]);
    let error = work.fail(&["template", &work.path_str("app")]);
    assert!(
        error.contains(
            "app → mid → leaf: values do not match the schema in values.schema.json:\n  greeting: "
        ),
        "{error}"
    );
    let out = work.run(&[
        "template",
        &work.path_str("app"),
        "--set",
        "mid.leaf.greeting=short",
    ]);
    assert!(out.contains("name: leaf-short"), "{out}");
}

#[test]
fn a_missing_or_wrong_dependency_is_named() {
    let work = Workdir::new();
    work.chart(
        "app",
        &[(
            "Chart.yaml",
            "name: app\nversion: 0.1.0\ndependencies:\n  - name: db\n    version: ^2.0.0\n",
        )],
    );
    let app = work.path_str("app");
    let error = work.fail(&["template", &app]);
    assert!(
        error.contains("dependency \"db\" of chart \"app\" is missing from charts/; run `rchart dependency build`"),
        "{error}"
    );
    work.chart(
        "app/charts/db",
        &[("Chart.yaml", "name: db\nversion: 1.5.0\n")],
    );
    let error = work.fail(&["template", &app]);
    assert!(
        error.contains("dependency \"db\" of chart \"app\" asks for version ^2.0.0, but charts/ holds 1.5.0 (charts/db)"),
        "{error}"
    );
    let error = work.fail(&["package", &app, "-d", &work.path_str("dist")]);
    assert!(error.contains("asks for version ^2.0.0"), "{error}");
    assert!(!work.path("dist").exists());
}

/// `rchart create`, a dependency, `dependency update`, then template: the scaffold's
/// ignore file leaves packages at the chart root out, not the archives in charts/. An
/// ignore file that does leave them out is named when the dependency is then missing.
#[test]
fn a_created_chart_takes_packaged_dependencies_and_an_ignored_archive_is_named() {
    let work = Workdir::new();
    work.chart("lib", &[("Chart.yaml", "name: lib\nversion: 1.2.0\n")]);
    let app = work.path_str("app");
    work.run(&["create", &app]);
    let chart_yaml = work.path("app/Chart.yaml");
    let mut text = std::fs::read_to_string(&chart_yaml).unwrap();
    text.push_str(
        "dependencies:\n  - name: lib\n    version: ^1.0.0\n    repository: file://../lib\n",
    );
    std::fs::write(&chart_yaml, text).unwrap();
    work.run(&["dependency", "update", &app]);
    assert!(work.path("app/charts/lib-1.2.0.tgz").is_file());
    let rendered = work.run(&["template", &app]);
    assert!(rendered.contains("kind: Deployment"), "{rendered}");
    // A package written into the chart root stays out of the next package.
    work.run(&["package", &app, "-d", &app]);
    work.run(&["package", &app, "-d", &work.path_str("dist")]);
    let listing = std::process::Command::new("tar")
        .arg("-tzf")
        .arg(work.path("dist/app-0.1.0.tgz"))
        .output()
        .unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    assert!(listing.contains("app/charts/lib-1.2.0.tgz"), "{listing}");
    assert!(!listing.contains("app/app-0.1.0.tgz"), "{listing}");

    std::fs::write(work.path("app/.rchartignore"), "*.tgz\n").unwrap();
    let error = work.fail(&["template", &app]);
    assert!(
        error.contains("dependency \"lib\" of chart \"app\" is missing from charts/: charts/lib-1.2.0.tgz is there, but .rchartignore leaves it out (anchor a pattern for packages to the chart root: /*.tgz)"),
        "{error}"
    );
}

#[test]
fn bad_dependency_fields_in_chart_yaml_are_named() {
    let work = Workdir::new();
    let cases = [
        (
            "dependencies: x\n",
            "field \"dependencies\": expected a list, found a string",
        ),
        (
            "dependencies:\n  - name: a\n    version: 1.0\n",
            "field \"dependencies[0].version\": 1.0 is a number; quote the version range",
        ),
        (
            "dependencies:\n  - name: a\n    repository: ftp://x\n",
            "field \"dependencies[0].repository\": \"ftp://x\" is not a repository",
        ),
        (
            "dependencies:\n  - name: a\n    import-values: [{child: a}]\n",
            "field \"dependencies[0].import-values[0].parent\": is required",
        ),
    ];
    for (yaml, expected) in cases {
        let dir = work.chart(
            "bad",
            &[("Chart.yaml", &format!("name: bad\nversion: 1.0.0\n{yaml}"))],
        );
        for command in ["template", "dependency"] {
            let args: Vec<&str> = if command == "template" {
                vec!["template", dir.to_str().unwrap()]
            } else {
                vec!["dependency", "update", dir.to_str().unwrap()]
            };
            let error = work.fail(&args);
            assert!(error.contains(expected), "{yaml}: {error}");
        }
        assert!(!dir.join("charts").exists() && !dir.join("Chart.lock").exists());
    }
}

#[test]
fn update_and_build_give_the_same_bytes_and_build_refuses_a_stale_lock() {
    let work = Workdir::new();
    three_levels(&work);
    let app = work.path("app");
    let lock = std::fs::read_to_string(app.join("Chart.lock")).unwrap();
    assert!(lock.starts_with("dependencies:\n- name: mid\n  repository: file://../mid\n  version: 1.2.0\n- name: mid\n"), "{lock}");
    let before = snapshot(&app.join("charts"));
    assert_eq!(
        before.len(),
        1,
        "two aliases of one chart share its archive"
    );

    // Unchanged inputs: the lock is left alone, charts/ is byte for byte the same
    work.run(&["dependency", "update", app.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(app.join("Chart.lock")).unwrap(),
        lock
    );
    std::fs::remove_dir_all(app.join("charts")).unwrap();
    work.run(&["dependency", "build", app.to_str().unwrap()]);
    assert_eq!(snapshot(&app.join("charts")), before);

    // With SOURCE_DATE_EPOCH, a fresh copy gives the same lock too
    let copies: Vec<String> = (0..2)
        .map(|_| {
            let copy = tempfile::tempdir().unwrap().keep();
            crate::support::copy_dir(&work.path("mid"), &copy.join("mid"));
            crate::support::copy_dir(&work.path("leaf"), &copy.join("leaf"));
            crate::support::copy_dir(&app, &copy.join("app"));
            std::fs::remove_file(copy.join("app/Chart.lock")).unwrap();
            work.rchart()
                .env("SOURCE_DATE_EPOCH", "1700000000")
                .args(["dependency", "update"])
                .arg(copy.join("app"))
                .assert()
                .success();
            std::fs::read_to_string(copy.join("app/Chart.lock")).unwrap()
        })
        .collect();
    assert_eq!(copies[0], copies[1]);
    assert!(
        copies[0].ends_with("generated: \"2023-11-14T22:13:20Z\"\n"),
        "{}",
        copies[0]
    );

    // Chart.yaml moves on: build names the dependency and changes nothing
    let chart_yaml = app.join("Chart.yaml");
    let text = std::fs::read_to_string(&chart_yaml).unwrap();
    std::fs::write(&chart_yaml, text.replace(">=1.0.0 <2", "^2.0.0")).unwrap();
    let error = work.fail(&["dependency", "build", app.to_str().unwrap()]);
    assert!(
        error.contains("Chart.lock is out of date with Chart.yaml: dependency \"mid\" is locked at 1.2.0, outside the range ^2.0.0 Chart.yaml asks for; run `rchart dependency update"),
        "{error}"
    );
    std::fs::write(
        &chart_yaml,
        text.replace("condition: mid2.enabled", "condition: mid2.on"),
    )
    .unwrap();
    let error = work.fail(&["dependency", "build", app.to_str().unwrap()]);
    assert!(
        error.contains("a dependency's condition, tags, alias or import-values changed"),
        "{error}"
    );
    assert_eq!(snapshot(&app.join("charts")), before);
    assert_eq!(
        std::fs::read_to_string(app.join("Chart.lock")).unwrap(),
        lock
    );

    // A damaged lock names its key
    std::fs::write(app.join("Chart.lock"), "dependencies:\n- name: mid\n").unwrap();
    let error = work.fail(&["dependency", "build", app.to_str().unwrap()]);
    assert!(error.contains("Chart.lock: digest: missing"), "{error}");
}

#[test]
fn list_tells_what_charts_holds() {
    let work = Workdir::new();
    work.chart("src/ok", &[("Chart.yaml", "name: ok\nversion: 1.0.0\n")]);
    work.chart("src/old", &[("Chart.yaml", "name: old\nversion: 1.0.0\n")]);
    work.chart(
        "app/charts/unpacked",
        &[("Chart.yaml", "name: unpacked\nversion: 1.0.0\n")],
    );
    work.run(&[
        "package",
        &work.path_str("src/ok"),
        "-d",
        &work.path_str("app/charts"),
    ]);
    work.run(&[
        "package",
        &work.path_str("src/old"),
        "-d",
        &work.path_str("app/charts"),
    ]);
    work.chart(
        "app",
        &[
            (
                "Chart.yaml",
                "name: app\nversion: 0.1.0\ndependencies:\n  - {name: ok, version: 1.x}\n  - {name: old, version: \">=2\"}\n  - {name: unpacked}\n  - {name: gone, repository: https://charts.example}\n  - {name: locked, repository: https://charts.example}\n",
            ),
            (
                "Chart.lock",
                "dependencies:\n- name: locked\n  repository: https://charts.example\n  version: 1.0.0\ndigest: sha256:00\n",
            ),
        ],
    );
    let out = work.run(&["dependency", "list", &work.path_str("app")]);
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(
        rows[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "VERSION", "REPOSITORY", "STATUS"]
    );
    assert!(rows[1].ends_with("ok"), "{out}");
    assert!(
        rows[2].ends_with("wrong version (1.0.0 in charts/)"),
        "{out}"
    );
    assert!(rows[3].ends_with("unpacked"), "{out}");
    assert!(rows[4].ends_with("missing"), "{out}");
    assert!(rows[5].ends_with("locked but not downloaded"), "{out}");

    // A lock that is not YAML is named, as `build` names it, not taken as no lock.
    std::fs::write(
        work.path("app/Chart.lock"),
        "dependencies:\n- name: locked\n  version: [oops\n",
    )
    .unwrap();
    let error = work.fail(&["dependency", "list", &work.path_str("app")]);
    assert!(error.contains("app/Chart.lock: "), "{error}");
}

#[test]
fn dependency_update_flag_on_template_and_package() {
    let work = Workdir::new();
    three_levels(&work);
    std::fs::remove_dir_all(work.path("app/charts")).unwrap();
    let app = work.path_str("app");
    let out = work.run(&["template", &app, "--dependency-update"]);
    assert!(out.contains("name: leaf-from-app"), "{out}");
    std::fs::remove_dir_all(work.path("app/charts")).unwrap();
    let out = work.run(&[
        "package",
        &app,
        "--dependency-update",
        "-d",
        &work.path_str("dist"),
    ]);
    assert!(out.contains("app-0.1.0.tgz"), "{out}");
    let out = work.run(&["template", &work.path_str("dist/app-0.1.0.tgz")]);
    assert!(
        out.contains("# Source: app/charts/mid/charts/leaf/templates/cm.yaml"),
        "{out}"
    );
}

/// A chart archive holding a symlink, as `tar` would write it from a hostile tree.
pub fn hostile_archive(name: &str, version: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let chart_yaml = format!("apiVersion: v2\nname: {name}\nversion: {version}\n");
    let mut header = tar::Header::new_ustar();
    header.set_size(chart_yaml.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(
            &mut header,
            format!("{name}/Chart.yaml"),
            chart_yaml.as_bytes(),
        )
        .unwrap();
    let mut link = tar::Header::new_ustar();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    link.set_mode(0o777);
    builder
        .append_link(
            &mut link,
            format!("{name}/templates/passwd.yaml"),
            "/etc/passwd",
        )
        .unwrap();
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn a_hostile_archive_in_charts_is_rejected_as_a_local_one_is() {
    let work = Workdir::new();
    work.chart("app", &[("Chart.yaml", "name: app\nversion: 0.1.0\n")]);
    std::fs::create_dir_all(work.path("app/charts")).unwrap();
    std::fs::write(
        work.path("app/charts/evil-1.0.0.tgz"),
        hostile_archive("evil", "1.0.0"),
    )
    .unwrap();
    let error = work.fail(&["template", &work.path_str("app")]);
    assert!(
        error.contains("app/charts/evil-1.0.0.tgz\": entry \"evil/templates/passwd.yaml\" is a symlink to \"/etc/passwd\""),
        "{error}"
    );
    // A stray file in charts/ is not a chart
    std::fs::remove_file(work.path("app/charts/evil-1.0.0.tgz")).unwrap();
    std::fs::write(work.path("app/charts/README.md"), "notes").unwrap();
    let error = work.fail(&["template", &work.path_str("app")]);
    assert!(
        error.contains("charts/README.md is neither a chart archive (.tgz) nor a chart directory"),
        "{error}"
    );
}

/// A chart archive of `files` files of 5 MiB of zeros each: small, and large unpacked.
fn zeros_archive(name: &str, files: usize) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let chart_yaml = format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\n");
    let mut header = tar::Header::new_ustar();
    header.set_size(chart_yaml.len() as u64);
    header.set_mode(0o644);
    builder
        .append_data(
            &mut header,
            format!("{name}/Chart.yaml"),
            chart_yaml.as_bytes(),
        )
        .unwrap();
    let zeros = vec![0u8; 5 * 1024 * 1024];
    for index in 0..files {
        let mut header = tar::Header::new_ustar();
        header.set_size(zeros.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(
                &mut header,
                format!("{name}/files/zeros{index}"),
                &zeros[..],
            )
            .unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn archives_in_charts_share_one_size_limit() {
    let work = Workdir::new();
    work.chart("app", &[("Chart.yaml", "name: app\nversion: 0.1.0\n")]);
    std::fs::create_dir_all(work.path("app/charts")).unwrap();
    // 30 MiB each unpacked: either alone fits the 50 MiB limit, both do not
    for name in ["one", "two"] {
        std::fs::write(
            work.path(&format!("app/charts/{name}-1.0.0.tgz")),
            zeros_archive(name, 6),
        )
        .unwrap();
    }
    let error = work.fail(&["template", &work.path_str("app")]);
    assert!(
        error.contains("charts/two-1.0.0.tgz: the chart and its dependencies decompress to more than 50 MiB together"),
        "{error}"
    );
    std::fs::remove_file(work.path("app/charts/two-1.0.0.tgz")).unwrap();
    work.run(&["template", &work.path_str("app")]);
}
