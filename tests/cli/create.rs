use crate::support::{rchart, stderr_of, stdout_of};

#[test]
fn created_charts_lint_template_and_package() {
    let dir = tempfile::tempdir().unwrap();
    let output = rchart()
        .current_dir(dir.path())
        .args(["create", "shop"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let chart = dir.path().join("shop");
    for file in [
        "Chart.yaml",
        "values.yaml",
        "values.schema.json",
        ".rchartignore",
        "templates/deployment.yaml",
        "templates/service.yaml",
        "templates/NOTES.txt",
    ] {
        assert!(chart.join(file).is_file(), "{file}");
    }

    let lint = rchart()
        .arg("lint")
        .arg(&chart)
        .args(["-n", "shop"])
        .output()
        .unwrap();
    assert!(lint.status.success(), "{}", stdout_of(&lint));
    assert!(stdout_of(&lint).contains("0 error(s)"));

    let template = rchart()
        .args(["template", "web"])
        .arg(&chart)
        .output()
        .unwrap();
    let text = stdout_of(&template);
    assert!(template.status.success(), "{}", stderr_of(&template));
    assert!(
        text.contains("kind: Deployment") && text.contains("kind: Service"),
        "{text}"
    );
    assert!(text.contains("name: web-shop"), "{text}");

    let package = rchart()
        .arg("package")
        .arg(&chart)
        .arg("-d")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(package.status.success(), "{}", stderr_of(&package));
    assert!(dir.path().join("shop-0.1.0.tgz").is_file());
}

#[test]
fn create_refuses_existing_paths_and_bad_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    let output = rchart()
        .current_dir(dir.path())
        .args(["create", "taken"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr_of(&output).contains("already exists"));
    let output = rchart()
        .current_dir(dir.path())
        .args(["create", "Bad_Name"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr_of(&output).contains("chart name \"Bad_Name\""));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing half-created"
    );
}

#[test]
fn create_takes_a_path_and_names_the_chart_after_its_last_part() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("x/shop");
    let output = rchart().arg("create").arg(&target).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(stdout_of(&output).contains(&format!("Created chart {}", target.display())));
    let chart_yaml = std::fs::read_to_string(target.join("Chart.yaml")).unwrap();
    assert!(chart_yaml.contains("name: shop\n"), "{chart_yaml}");
    let template = rchart().arg("template").arg(&target).output().unwrap();
    assert!(template.status.success(), "{}", stderr_of(&template));
    assert!(stdout_of(&template).contains("name: shop\n"));
}

#[test]
fn create_project_writes_a_project_file_that_the_commands_use() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let output = rchart()
        .current_dir(dir.path())
        .args(["create", "shop", "--project"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    for file in [
        "rchart.yaml",
        "values/dev.yaml",
        "values/prod.yaml",
        "shop/Chart.yaml",
    ] {
        assert!(dir.path().join(file).is_file(), "{file}");
    }
    let template = rchart()
        .current_dir(dir.path())
        .args(["template", "-f", "values/prod.yaml"])
        .output()
        .unwrap();
    assert!(template.status.success(), "{}", stderr_of(&template));
    assert!(
        stderr_of(&template).contains("namespace shop (environment prod)"),
        "{}",
        stderr_of(&template)
    );
    assert!(stdout_of(&template).contains("name: shop\n"));
    let lint = rchart()
        .current_dir(dir.path())
        .args(["lint", "-e", "dev"])
        .output()
        .unwrap();
    assert!(lint.status.success(), "{}", stdout_of(&lint));

    // A second time: refused, and nothing is touched.
    let before = std::fs::read_to_string(dir.path().join("rchart.yaml")).unwrap();
    std::fs::remove_dir_all(dir.path().join("shop")).unwrap();
    let again = rchart()
        .current_dir(dir.path())
        .args(["create", "shop", "--project"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr_of(&again).contains("rchart.yaml already exists"));
    assert!(!dir.path().join("shop").exists(), "no chart half-created");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("rchart.yaml")).unwrap(),
        before
    );
}
