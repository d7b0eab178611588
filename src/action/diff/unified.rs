//! The text of a diff: one unified diff per object, then a summary line.

use std::time::Duration;

use similar::{ChangeTag, TextDiff};

use super::normalize::is_secret;
use super::secrets;
use super::{Change, DiffReport, ResourceDiff};
use crate::yaml::to_yaml;

/// Unchanged lines shown around each change, as `diff -u` does.
const CONTEXT_LINES: usize = 3;

/// Past this, the line diff settles for a correct but less minimal result instead of
/// spending longer on a huge object.
const DIFF_TIMEOUT: Duration = Duration::from_secs(2);

/// How to show a report.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiffDisplay {
    /// Colour headers, hunk ranges, removed and added lines with ANSI escapes.
    pub colour: bool,
    /// Show Secret values decoded instead of masked.
    pub show_secrets: bool,
}

impl DiffReport {
    /// Every object's diff, then the summary line.
    pub fn render(&self, options: DiffDisplay) -> anyhow::Result<String> {
        let palette = Palette {
            enabled: options.colour,
        };
        let mut out = String::new();
        for resource in &self.resources {
            let (live, proposed) = shown_sides(resource, options.show_secrets)?;
            let (old_label, new_label) = self.labels(resource);
            palette.line(&mut out, BOLD, &format!("--- {old_label}"));
            palette.line(&mut out, BOLD, &format!("+++ {new_label}"));
            if let Some(conflict) = &resource.conflict {
                palette.line(&mut out, RED, &format!("! conflict: {conflict}"));
            }
            write_hunks(&mut out, &palette, &live, &proposed);
        }
        out.push_str(&self.summary());
        out.push('\n');
        Ok(out)
    }

    /// What the two sides of an object's diff are: `(live)` against `(revision 4)`.
    fn labels(&self, resource: &ResourceDiff) -> (String, String) {
        let id = &resource.id;
        let revision = match self.rollback_of {
            Some(restored) => format!("revision {}, rollback to {restored}", self.revision),
            None => format!("revision {}", self.revision),
        };
        match resource.change {
            Change::Modify => (format!("{id} (live)"), format!("{id} ({revision})")),
            Change::Add => (format!("{id} (absent)"), format!("{id} ({revision})")),
            Change::Prune => (
                format!("{id} (live)"),
                format!("{id} (pruned by {revision})"),
            ),
        }
    }
}

/// Both sides as YAML, Secret values masked unless asked for.
fn shown_sides(resource: &ResourceDiff, show_secrets: bool) -> anyhow::Result<(String, String)> {
    let mut live = resource.live.clone();
    let mut proposed = resource.proposed.clone();
    let secret = live.iter().chain(proposed.iter()).any(is_secret);
    if secret && show_secrets {
        live.iter_mut()
            .chain(proposed.iter_mut())
            .for_each(secrets::reveal);
    } else if secret {
        secrets::mask(live.as_mut(), proposed.as_mut());
    }
    let text = |side: Option<serde_json::Value>| -> anyhow::Result<String> {
        match side {
            Some(object) => Ok(to_yaml(&object).map_err(anyhow::Error::msg)? + "\n"),
            None => Ok(String::new()),
        }
    };
    Ok((text(live)?, text(proposed)?))
}

fn write_hunks(out: &mut String, palette: &Palette, old: &str, new: &str) {
    let diff = TextDiff::configure()
        .timeout(DIFF_TIMEOUT)
        .diff_lines(old, new);
    for hunk in diff
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .iter_hunks()
    {
        palette.line(out, CYAN, &hunk.header().to_string());
        for change in hunk.iter_changes() {
            let text = format!("{}{}", change.tag(), change.value().trim_end_matches('\n'));
            match change.tag() {
                ChangeTag::Delete => palette.line(out, RED, &text),
                ChangeTag::Insert => palette.line(out, GREEN, &text),
                ChangeTag::Equal => palette.line(out, "", &text),
            }
        }
    }
}

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

/// Writes whole lines, in a style when colour is on. The escapes never span a newline,
/// so pagers and `grep` see one styled line at a time.
struct Palette {
    enabled: bool,
}

impl Palette {
    fn line(&self, out: &mut String, style: &str, text: &str) {
        if self.enabled && !style.is_empty() {
            out.push_str(style);
            out.push_str(text);
            out.push_str(RESET);
        } else {
            out.push_str(text);
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::render::ResourceId;

    fn id(kind: &str, name: &str) -> ResourceId {
        ResourceId {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: Some("backend".into()),
            name: name.into(),
        }
    }

    fn report(resources: Vec<ResourceDiff>) -> DiffReport {
        DiffReport {
            revision: 4,
            rollback_of: None,
            resources,
        }
    }

    fn config_map(name: &str, data: serde_json::Value) -> serde_json::Value {
        json!({"apiVersion": "v1", "data": data, "kind": "ConfigMap", "metadata": {"name": name}})
    }

    #[test]
    fn a_modified_object_is_a_unified_diff_between_live_and_the_revision() {
        let report = report(vec![ResourceDiff {
            id: id("ConfigMap", "web"),
            change: Change::Modify,
            live: Some(config_map("web", json!({"a": "1", "b": "2"}))),
            proposed: Some(config_map("web", json!({"a": "1", "b": "3"}))),
            conflict: None,
        }]);
        let text = report.render(DiffDisplay::default()).unwrap();
        assert_eq!(
            text,
            "--- ConfigMap backend/web (live)\n\
             +++ ConfigMap backend/web (revision 4)\n\
             @@ -1,7 +1,7 @@\n \
             apiVersion: v1\n \
             data:\n   \
             a: \"1\"\n\
             -  b: \"2\"\n\
             +  b: \"3\"\n \
             kind: ConfigMap\n \
             metadata:\n   \
             name: web\n\
             1 to change, 0 to add, 0 to prune\n"
        );
    }

    #[test]
    fn additions_and_prunes_are_whole_objects_on_one_side() {
        let report = DiffReport {
            revision: 3,
            rollback_of: Some(1),
            resources: vec![
                ResourceDiff {
                    id: id("ConfigMap", "new"),
                    change: Change::Add,
                    live: None,
                    proposed: Some(config_map("new", json!({"a": "1"}))),
                    conflict: None,
                },
                ResourceDiff {
                    id: id("ConfigMap", "old"),
                    change: Change::Prune,
                    live: Some(config_map("old", json!({"a": "1"}))),
                    proposed: None,
                    conflict: None,
                },
            ],
        };
        let text = report.render(DiffDisplay::default()).unwrap();
        assert!(
            text.contains("--- ConfigMap backend/new (absent)\n+++ ConfigMap backend/new (revision 3, rollback to 1)\n@@ -0,0 +1,6 @@\n+apiVersion: v1\n"),
            "{text}"
        );
        assert!(
            text.contains("--- ConfigMap backend/old (live)\n+++ ConfigMap backend/old (pruned by revision 3, rollback to 1)\n@@ -1,6 +0,0 @@\n-apiVersion: v1\n"),
            "{text}"
        );
        assert!(
            text.ends_with("\n0 to change, 1 to add, 1 to prune\n"),
            "{text}"
        );
    }

    #[test]
    fn no_differences_render_as_no_changes() {
        assert_eq!(
            report(Vec::new()).render(DiffDisplay::default()).unwrap(),
            "no changes\n"
        );
    }

    #[test]
    fn colour_wraps_each_line_and_plain_output_has_no_escapes() {
        let report = report(vec![ResourceDiff {
            id: id("ConfigMap", "web"),
            change: Change::Modify,
            live: Some(config_map("web", json!({"a": "1"}))),
            proposed: Some(config_map("web", json!({"a": "2"}))),
            conflict: None,
        }]);
        let plain = report.render(DiffDisplay::default()).unwrap();
        assert!(!plain.contains('\x1b'), "{plain}");
        let coloured = report
            .render(DiffDisplay {
                colour: true,
                show_secrets: false,
            })
            .unwrap();
        assert!(
            coloured.contains("\x1b[31m-  a: \"1\"\x1b[0m\n"),
            "{coloured}"
        );
        assert!(
            coloured.contains("\x1b[32m+  a: \"2\"\x1b[0m\n"),
            "{coloured}"
        );
        assert!(
            coloured.contains("\x1b[1m--- ConfigMap backend/web (live)\x1b[0m\n"),
            "{coloured}"
        );
        assert!(coloured.contains("\x1b[36m@@ "), "{coloured}");
    }

    #[test]
    fn secret_values_are_masked_unless_asked_for() {
        let secret = |password: &str| json!({"apiVersion": "v1", "data": {"pass": password}, "kind": "Secret"});
        let report = report(vec![ResourceDiff {
            id: id("Secret", "db"),
            change: Change::Modify,
            live: Some(secret("b2xkLXBhc3N3b3Jk")),
            proposed: Some(secret("bmV3LXBhc3N3b3Jk")),
            conflict: None,
        }]);
        let masked = report.render(DiffDisplay::default()).unwrap();
        assert!(
            masked.contains("-  pass: \"*** (before)\"\n+  pass: \"*** (after)\"\n"),
            "{masked}"
        );
        assert!(
            !masked.contains("b2xk") && !masked.contains("bmV3") && !masked.contains("password"),
            "{masked}"
        );
        let shown = report
            .render(DiffDisplay {
                colour: false,
                show_secrets: true,
            })
            .unwrap();
        assert!(
            shown.contains("-  pass: old-password\n+  pass: new-password\n"),
            "{shown}"
        );
    }
}
