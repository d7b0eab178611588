//! Printing read results as a table (for people) or JSON/YAML (for programs).

use serde::Serialize;

use crate::cli::OutputFormat;

/// Prints `value` as JSON or YAML; returns false for the table format, which each
/// command lays out itself.
pub fn print_structured<T: Serialize>(format: OutputFormat, value: &T) -> anyhow::Result<bool> {
    match format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(value)?),
        OutputFormat::Yaml => outln!(
            "{}",
            crate::yaml::to_yaml(value).map_err(anyhow::Error::msg)?
        ),
        OutputFormat::Table => return Ok(false),
    }
    Ok(true)
}

/// Columns padded to their widest cell, separated by three spaces, like kubectl.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> anyhow::Result<()> {
        let last = cells.len().saturating_sub(1);
        let text: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                if i == last {
                    cell.to_string()
                } else {
                    format!("{cell:<width$}", width = widths[i])
                }
            })
            .collect();
        outln!("{}", text.join("   ").trim_end());
        Ok(())
    };
    line(headers.to_vec())?;
    for row in rows {
        line(row.iter().map(String::as_str).collect())?;
    }
    Ok(())
}
