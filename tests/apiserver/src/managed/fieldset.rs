//! Field sets: which fields of an object a manager owns, and their
//! `fieldsV1` encoding (`{"f:spec":{"f:replicas":{}}}`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// One step in a path through an object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// A field of a map or struct (`f:name`).
    Field(String),
    /// An item of a keyed list, as canonical JSON of its key fields (`k:{"name":"web"}`).
    Key(String),
    /// An item of a set-list, as JSON of its value (`v:"x"`).
    Value(String),
    /// An item of an atomic list by position (`i:0`); only read from stored sets.
    Index(usize),
}

impl PathElement {
    fn encode(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(key) => format!("k:{key}"),
            PathElement::Value(value) => format!("v:{value}"),
            PathElement::Index(index) => format!("i:{index}"),
        }
    }

    fn decode(text: &str) -> Option<PathElement> {
        let (prefix, rest) = text.split_once(':')?;
        match prefix {
            "f" => Some(PathElement::Field(rest.to_string())),
            "k" => Some(PathElement::Key(rest.to_string())),
            "v" => Some(PathElement::Value(rest.to_string())),
            "i" => rest.parse().ok().map(PathElement::Index),
            _ => None,
        }
    }

    /// The form used in conflict messages: `.spec`, `[name="web"]`, `[=x]`, `[0]`.
    fn display(&self) -> String {
        match self {
            PathElement::Field(name) => format!(".{name}"),
            PathElement::Key(key) => {
                let fields: Map<String, Value> = serde_json::from_str(key).unwrap_or_default();
                let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("[{}]", parts.join(","))
            }
            PathElement::Value(value) => format!("[={value}]"),
            PathElement::Index(index) => format!("[{index}]"),
        }
    }
}

/// A path from the object root.
pub type Path = Vec<PathElement>;

/// `.spec.template.spec.containers[name="web"].image`
pub fn display_path(path: &[PathElement]) -> String {
    path.iter().map(PathElement::display).collect()
}

/// A set of owned paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    paths: BTreeSet<Path>,
}

impl FieldSet {
    /// An empty set.
    pub fn new() -> Self {
        FieldSet::default()
    }

    /// Add a path.
    pub fn insert(&mut self, path: Path) {
        self.paths.insert(path);
    }

    /// Whether the set has no paths.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Whether `path` is in the set.
    #[cfg(test)]
    pub fn contains(&self, path: &[PathElement]) -> bool {
        self.paths.contains(path)
    }

    /// Whether the set holds `path` or any path below it.
    pub fn covers(&self, path: &[PathElement]) -> bool {
        self.paths
            .range(path.to_vec()..)
            .next()
            .is_some_and(|candidate| candidate.starts_with(path))
    }

    /// All paths, in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Path> {
        self.paths.iter()
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet {
            paths: self.paths.union(&other.paths).cloned().collect(),
        }
    }

    /// Paths in `self` but not in `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet {
            paths: self.paths.difference(&other.paths).cloned().collect(),
        }
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        FieldSet {
            paths: self.paths.intersection(&other.paths).cloned().collect(),
        }
    }

    /// Decode a `fieldsV1` object. Unknown keys are skipped.
    pub fn from_fields_v1(value: &Value) -> FieldSet {
        let mut set = FieldSet::new();
        decode_into(value, &mut Vec::new(), &mut set);
        set
    }

    /// Encode as a `fieldsV1` object: members with children get a `"."` entry.
    pub fn to_fields_v1(&self) -> Value {
        let mut root = Node::default();
        for path in &self.paths {
            let mut node = &mut root;
            for element in path {
                node = node.children.entry(element.clone()).or_default();
            }
            node.member = true;
        }
        root.encode()
    }
}

fn decode_into(value: &Value, prefix: &mut Path, set: &mut FieldSet) {
    let Some(children) = value.as_object() else {
        return;
    };
    if children.is_empty() && !prefix.is_empty() {
        set.insert(prefix.clone());
        return;
    }
    for (key, child) in children {
        if key == "." {
            set.insert(prefix.clone());
            continue;
        }
        let Some(element) = PathElement::decode(key) else {
            continue;
        };
        prefix.push(element);
        decode_into(child, prefix, set);
        prefix.pop();
    }
}

#[derive(Default)]
struct Node {
    member: bool,
    children: BTreeMap<PathElement, Node>,
}

impl Node {
    fn encode(&self) -> Value {
        let mut out = Map::new();
        if self.member && !self.children.is_empty() {
            out.insert(".".to_string(), Value::Object(Map::new()));
        }
        for (element, child) in &self.children {
            out.insert(element.encode(), child.encode());
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str) -> PathElement {
        PathElement::Field(name.to_string())
    }

    #[test]
    fn round_trips_fields_v1() {
        let encoded = json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}, "f:replicas": {}}
        });
        let set = FieldSet::from_fields_v1(&encoded);
        assert!(set.contains(&[field("metadata"), field("labels")]));
        assert!(set.contains(&[field("spec"), field("replicas")]));
        assert!(!set.contains(&[field("spec")]));
        assert_eq!(set.to_fields_v1(), encoded);
    }

    #[test]
    fn displays_paths_like_the_real_server() {
        let path = vec![
            field("spec"),
            field("containers"),
            PathElement::Key(r#"{"containerPort":80,"protocol":"TCP"}"#.to_string()),
            field("name"),
        ];
        assert_eq!(
            display_path(&path),
            r#".spec.containers[containerPort=80,protocol="TCP"].name"#
        );
    }

    #[test]
    fn covers_descendants() {
        let mut set = FieldSet::new();
        set.insert(vec![field("spec"), field("replicas")]);
        assert!(set.covers(&[field("spec")]));
        assert!(!set.covers(&[field("status")]));
    }
}
