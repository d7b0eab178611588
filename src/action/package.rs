//! `rchart package`: a chart directory → a reproducible `NAME-VERSION.tgz`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::chart::{CHART_FILE, Chart, ChartFiles, package};

/// The modification time stamped on every entry when `SOURCE_DATE_EPOCH` is not set.
/// Fixed, so packaging the same tree twice gives the same bytes.
pub const DEFAULT_MTIME: u64 = 0;

pub struct PackageOptions<'a> {
    pub chart_dir: &'a Path,
    pub destination: &'a Path,
    /// Replaces `version` in the packaged Chart.yaml (the directory is left alone).
    pub version: Option<&'a str>,
    /// Replaces `appVersion` in the packaged Chart.yaml.
    pub app_version: Option<&'a str>,
    /// Entry modification time, seconds since the epoch.
    pub mtime: u64,
}

pub struct Packaged {
    pub path: PathBuf,
    pub sha256: String,
}

/// Reads `SOURCE_DATE_EPOCH` the way reproducible-builds tools do.
pub fn mtime_from_env() -> anyhow::Result<u64> {
    Ok(source_date_epoch()?.unwrap_or(DEFAULT_MTIME))
}

/// `SOURCE_DATE_EPOCH`, when it is set.
pub fn source_date_epoch() -> anyhow::Result<Option<u64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse()
            .map(Some)
            .with_context(|| format!("SOURCE_DATE_EPOCH=\"{text}\" is not a number of seconds")),
        _ => Ok(None),
    }
}

pub fn package(options: &PackageOptions<'_>) -> anyhow::Result<Packaged> {
    if !options.chart_dir.is_dir() {
        bail!(
            "chart directory \"{}\" not found",
            options.chart_dir.display()
        );
    }
    let mut files = ChartFiles::from_dir(options.chart_dir)?;
    if options.version.is_some() || options.app_version.is_some() {
        override_chart_fields(&mut files, options.version, options.app_version)?;
    }
    // Loading checks Chart.yaml, values and templates' encoding before anything is written.
    let chart = Chart::from_files(files, &options.chart_dir.display().to_string())?;
    // As Helm does: a package missing a dependency could not be installed
    chart.dependency_charts()?;
    let name = &chart.metadata.name;
    let file_name = format!("{name}-{}.tgz", chart.metadata.version);
    std::fs::create_dir_all(options.destination)
        .with_context(|| format!("creating {}", options.destination.display()))?;
    let path = options.destination.join(file_name);
    let sha256 = package::write_package(&chart.files, name, &path, options.mtime)?;
    Ok(Packaged { path, sha256 })
}

/// Rewrites top-level `version:`/`appVersion:` lines of Chart.yaml, keeping everything
/// else byte for byte, or appends the field when the file lacks it.
fn override_chart_fields(
    files: &mut ChartFiles,
    version: Option<&str>,
    app_version: Option<&str>,
) -> anyhow::Result<()> {
    let original = files
        .get(CHART_FILE)
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
        .with_context(|| format!("no {CHART_FILE} to set the version in"))?;
    let mut text = original;
    if let Some(version) = version {
        semver::Version::parse(version).with_context(|| {
            format!("--version \"{version}\" is not a semantic version (expected e.g. 1.2.3)")
        })?;
        text = set_top_level_field(&text, "version", version);
    }
    if let Some(app_version) = app_version {
        text = set_top_level_field(&text, "appVersion", app_version);
    }
    files.insert(CHART_FILE, text.into_bytes())?;
    Ok(())
}

fn set_top_level_field(text: &str, field: &str, value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    let prefix = format!("{field}:");
    let mut replaced = false;
    let mut lines: Vec<String> = text
        .lines()
        .map(|line| {
            if !replaced && line.starts_with(&prefix) {
                replaced = true;
                format!("{field}: {quoted}")
            } else {
                line.to_string()
            }
        })
        .collect();
    if !replaced {
        lines.push(format!("{field}: {quoted}"));
    }
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::set_top_level_field;

    #[test]
    fn fields_are_replaced_in_place_or_appended() {
        let text = "apiVersion: v2\nname: demo\nversion: 0.1.0 # the chart\nappVersion: \"1\"\n";
        assert_eq!(
            set_top_level_field(text, "version", "2.0.0"),
            "apiVersion: v2\nname: demo\nversion: \"2.0.0\"\nappVersion: \"1\"\n"
        );
        assert_eq!(
            set_top_level_field("name: demo\n", "appVersion", "1.10"),
            "name: demo\nappVersion: \"1.10\"\n"
        );
        // A nested key of the same name is not the top-level field.
        assert_eq!(
            set_top_level_field("x:\n  version: 1\n", "version", "1.0.0"),
            "x:\n  version: 1\nversion: \"1.0.0\"\n"
        );
    }
}
