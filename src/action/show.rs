//! `rchart show chart|values|readme|all`: a chart's own files, as they are in the
//! directory or the archive, byte for byte.

use std::path::Path;

use crate::chart::{CHART_FILE, ChartError, ChartFiles, VALUES_FILE};

/// Which file `show` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowPart {
    Chart,
    Values,
    Readme,
    /// Chart.yaml, values.yaml and the README, each after a `---` line.
    All,
}

/// The README's names, as Helm looks for them: in any case.
const README_NAMES: &[&str] = &["readme.md", "readme.txt", "readme"];

/// The bytes to print. A chart without the file (no values.yaml, no README) shows nothing.
pub fn show(chart: &Path, part: ShowPart) -> Result<Vec<u8>, ChartError> {
    if !chart.exists() {
        return Err(ChartError::NotFound(chart.display().to_string()));
    }
    let files = if chart.is_dir() {
        ChartFiles::from_dir(chart)?
    } else {
        ChartFiles::from_archive(chart)?.files
    };
    if !files.contains(CHART_FILE) {
        return Err(ChartError::NoChartFile {
            chart: chart.display().to_string(),
        });
    }
    let file = |path: Option<&str>| -> Vec<u8> {
        path.and_then(|path| files.get(path))
            .map(<[u8]>::to_vec)
            .unwrap_or_default()
    };
    let readme = files
        .iter()
        .map(|(path, _)| path)
        .find(|path| README_NAMES.contains(&path.to_ascii_lowercase().as_str()));
    Ok(match part {
        ShowPart::Chart => file(Some(CHART_FILE)),
        ShowPart::Values => file(Some(VALUES_FILE)),
        ShowPart::Readme => file(readme),
        ShowPart::All => {
            let mut all = Vec::new();
            for bytes in [
                file(Some(CHART_FILE)),
                file(Some(VALUES_FILE)),
                file(readme),
            ] {
                if bytes.is_empty() {
                    continue;
                }
                all.extend_from_slice(b"---\n");
                all.extend_from_slice(&bytes);
                if !bytes.ends_with(b"\n") {
                    all.push(b'\n');
                }
            }
            all
        }
    })
}
