//! Rendered template output → Kubernetes manifests: split into documents, drop empty
//! ones, parse and check each, and order them for installation.

use crate::chart::escape::escape_name;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::RenderError;
use super::frame::{DocumentLines, excerpt};
use super::inspect::{Field, Identity, Inspected, Problem, ProblemKind, inspect, read_object};
use super::order::install_rank;

/// One Kubernetes object as rendered by a template.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Chart-relative path of the template, e.g. `templates/deployment.yaml`.
    pub source: String,
    /// The document exactly as rendered, without surrounding blank lines.
    pub text: String,
    pub id: ResourceId,
}

impl Manifest {
    /// The object, read as kubectl reads it. Rendering already checked everything that
    /// reading it could find wrong, so this fails only on a manifest that was not
    /// rendered (one read back from a release record, say).
    pub fn object(&self) -> Result<serde_json::Value, RenderError> {
        read_object(&self.text).map_err(|problem| {
            let documents = [DocumentLines {
                text: &self.text,
                first_line: 1,
            }];
            problem_error(&self.source, &self.text, &documents, 1, problem)
        })
    }
}

/// A document's problem as an error about the template's output: `first_line` is the
/// document's first line within `output`.
fn problem_error(
    template: &str,
    output: &str,
    documents: &[DocumentLines<'_>],
    first_line: usize,
    problem: Problem,
) -> RenderError {
    let line = first_line + problem.line.max(1) - 1;
    match problem.kind {
        ProblemKind::Limit => RenderError::TooLarge {
            template: template.to_string(),
            line,
            message: problem.message,
        },
        ProblemKind::Invalid => RenderError::InvalidYaml {
            template: template.to_string(),
            position: Some((line, problem.column)),
            message: problem.message,
            excerpt: excerpt(output, documents, line),
        },
    }
}

/// What identifies an object in a cluster. Release inventories are lists of these.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceId {
    pub api_version: String,
    pub kind: String,
    /// `None` for cluster-scoped objects; in a rendered manifest, also for namespaced
    /// ones that take the release's (inventories record the namespace they went to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ResourceId {
    /// The API group; empty for the core group.
    pub fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }

    /// What makes two ids the same object, whichever API version names it: moving a
    /// PodDisruptionBudget from policy/v1beta1 to policy/v1 does not make a new object.
    pub fn object_key(&self) -> (&str, &str, Option<&str>, &str) {
        (
            self.group(),
            &self.kind,
            self.namespace.as_deref(),
            &self.name,
        )
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Splits one template's output into manifests. `source` names the template in errors.
pub fn parse_template_output(source: &str, output: &str) -> Result<Vec<Manifest>, RenderError> {
    let documents = split_documents(output);
    let mut manifests = Vec::new();
    for doc in &documents {
        if is_blank(doc.text) {
            continue;
        }
        let identity = match inspect(doc.text) {
            Ok(Inspected::Empty) => continue,
            Ok(Inspected::NotAMapping) => Err("a mapping at the top level".to_string()),
            Ok(Inspected::Object(identity)) => resource_id(identity),
            Err(problem) => {
                return Err(problem_error(
                    source,
                    output,
                    &documents,
                    doc.first_line,
                    problem,
                ));
            }
        };
        let id = identity.map_err(|missing| RenderError::NotAManifest {
            template: source.to_string(),
            line: doc.first_line,
            missing,
        })?;
        manifests.push(Manifest {
            source: source.to_string(),
            text: trim_blank_lines(doc.text).to_string(),
            id,
        });
    }
    Ok(manifests)
}

/// Orders manifests for installation: by kind rank, and stably within a kind.
pub fn sort_for_install(manifests: &mut [Manifest]) {
    manifests.sort_by(|a, b| {
        install_rank(&a.id.kind)
            .cmp(&install_rank(&b.id.kind))
            .then_with(|| unknown_kind_key(a).cmp(unknown_kind_key(b)))
    });
}

/// Kinds rchart does not know sort last, grouped by kind name, as Helm does.
fn unknown_kind_key(manifest: &Manifest) -> &str {
    if install_rank(&manifest.id.kind) == usize::MAX {
        &manifest.id.kind
    } else {
        ""
    }
}

/// Joins manifests into one multi-document stream, each preceded by its source.
pub fn to_multi_document(chart_name: &str, manifests: &[Manifest]) -> String {
    let mut out = String::with_capacity(manifests.iter().map(|m| m.text.len() + 64).sum());
    for manifest in manifests {
        // Escaped: a line break in a template's file name must not add lines of its own.
        out.push_str("---\n# Source: ");
        out.push_str(&escape_name(chart_name));
        out.push('/');
        out.push_str(&escape_name(&manifest.source));
        out.push('\n');
        out.push_str(&manifest.text);
        out.push('\n');
    }
    out
}

/// Reads back a stream written by [`to_multi_document`] (a stored release manifest):
/// each document's `# Source:` line names its template again.
pub fn parse_multi_document(chart_name: &str, text: &str) -> Result<Vec<Manifest>, RenderError> {
    let prefix = format!("# Source: {chart_name}/");
    let mut manifests = Vec::new();
    for doc in split_documents(text) {
        let body = doc.text.trim_start_matches('\n');
        let (source, body) = match body.split_once('\n') {
            Some((first, rest)) if first.starts_with(&prefix) => (&first[prefix.len()..], rest),
            _ => ("(stored manifest)", body),
        };
        manifests.extend(parse_template_output(source, body)?);
    }
    Ok(manifests)
}

/// Splits on `---` separator lines (which may carry a trailing comment).
fn split_documents(output: &str) -> Vec<DocumentLines<'_>> {
    let mut documents = Vec::new();
    let mut start = 0;
    let mut first_line = 1;
    let mut offset = 0;
    for (index, line) in output.split_inclusive('\n').enumerate() {
        if is_separator(line) {
            documents.push(DocumentLines {
                text: &output[start..offset],
                first_line,
            });
            start = offset + line.len();
            first_line = index + 2;
        }
        offset += line.len();
    }
    documents.push(DocumentLines {
        text: &output[start..],
        first_line,
    });
    documents
}

fn is_separator(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("---") else {
        return false;
    };
    let rest = rest.trim_end_matches(['\n', '\r']);
    rest.is_empty() || rest.starts_with([' ', '\t'])
}

fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#')
    })
}

/// The document without leading blank lines and trailing whitespace.
fn trim_blank_lines(text: &str) -> &str {
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if !line.trim().is_empty() {
            break;
        }
        start += line.len();
    }
    text[start..].trim_end()
}

/// The identity of a document, or what is missing or not a string.
fn resource_id(identity: Identity) -> Result<ResourceId, String> {
    let text = |field: Option<Field>, name: &str| -> Result<Option<String>, String> {
        match field {
            None => Ok(None),
            Some(Field::Text(text)) if text.is_empty() => Ok(None),
            Some(Field::Text(text)) => Ok(Some(text)),
            Some(Field::NotText("null")) => Ok(None),
            Some(Field::NotText(found)) => {
                Err(format!("{name} as a string (found {found}; quote it)"))
            }
        }
    };
    let required =
        |field: Option<Field>, name: &str| text(field, name)?.ok_or_else(|| name.to_string());
    Ok(ResourceId {
        api_version: required(identity.api_version, "apiVersion")?,
        kind: required(identity.kind, "kind")?,
        name: required(identity.name, "metadata.name")?,
        namespace: text(identity.namespace, "metadata.namespace")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(output: &str) -> Result<Vec<Manifest>, RenderError> {
        parse_template_output("templates/x.yaml", output)
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n";

    #[test]
    fn splits_documents_and_drops_empty_ones() {
        let output = format!(
            "# leading comment\n---\n\n{CM}---   \n# only a comment\n---\n{}",
            CM.replace("name: a", "name: b")
        );
        let manifests = parse(&output).unwrap();
        let names: Vec<_> = manifests.iter().map(|m| m.id.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(manifests[0].text, CM.trim_end());
    }

    #[test]
    fn a_separator_needs_a_line_of_its_own() {
        let output = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: \"---\"\n  y: ---x\n";
        assert_eq!(parse(output).unwrap().len(), 1);
    }

    #[test]
    fn invalid_yaml_names_the_template_and_the_line_of_the_output() {
        let output = format!("{CM}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [b\n");
        let err = parse(&output).unwrap_err().to_string();
        assert!(err.starts_with("templates/x.yaml:"), "{err}");
        assert!(err.contains("line 9"), "{err}");
        assert!(err.contains(">    9 |   name: [b"), "{err}");
    }

    #[test]
    fn documents_without_identity_are_rejected_naming_what_is_missing() {
        for (doc, missing) in [
            ("kind: ConfigMap\nmetadata:\n  name: a\n", "apiVersion"),
            ("apiVersion: v1\nmetadata:\n  name: a\n", "kind"),
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
                "metadata.name",
            ),
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"\"\n",
                "metadata.name",
            ),
            ("- a\n- b\n", "a mapping at the top level"),
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: no\n",
                "metadata.name as a string (found a boolean; quote it)",
            ),
        ] {
            let err = parse(doc).unwrap_err().to_string();
            assert!(err.contains("templates/x.yaml"), "{err}");
            assert!(err.contains(missing), "{missing}: {err}");
        }
    }

    #[test]
    fn yaml_is_read_as_kubectl_reads_it() {
        let doc = format!("{CM}data:\n  mode: 0644\n  big: 1000000\n");
        let object = &parse(&doc).unwrap()[0].object().unwrap();
        assert_eq!(object["data"]["mode"], 420);
        assert_eq!(object["data"]["big"], 1000000);
    }

    #[test]
    fn sorting_follows_install_order_and_is_stable_within_a_kind() {
        let doc = |kind: &str, name: &str| {
            format!("apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\n")
        };
        let output = [
            doc("Ingress", "i"),
            doc("Deployment", "d1"),
            doc("Widget", "w"),
            doc("Service", "s"),
            doc("Deployment", "d0"),
            doc("Gadget", "g"),
            doc("ConfigMap", "c"),
            doc("Namespace", "ns"),
        ]
        .join("---\n");
        let mut manifests = parse(&output).unwrap();
        sort_for_install(&mut manifests);
        let order: Vec<_> = manifests.iter().map(|m| m.id.name.as_str()).collect();
        assert_eq!(order, ["ns", "c", "s", "d1", "d0", "i", "g", "w"]);
    }

    #[test]
    fn stored_manifests_read_back_as_written() {
        let doc = |kind: &str, name: &str| {
            format!("apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\n")
        };
        let mut manifests = parse(&format!(
            "{}---\n{}",
            doc("Service", "s"),
            doc("ConfigMap", "c")
        ))
        .unwrap();
        sort_for_install(&mut manifests);
        let text = to_multi_document("demo", &manifests);
        let read_back = parse_multi_document("demo", &text).unwrap();
        assert_eq!(to_multi_document("demo", &read_back), text);
        assert_eq!(read_back[0].source, "templates/x.yaml");
        assert_eq!(read_back[1].id.name, "s");
    }

    #[test]
    fn multi_document_output_carries_sources() {
        let manifests = parse(CM).unwrap();
        assert_eq!(
            to_multi_document("demo", &manifests),
            format!("---\n# Source: demo/templates/x.yaml\n{CM}")
        );
    }
}
