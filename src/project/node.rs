//! A YAML document as a tree whose every node knows its line, so that a problem found
//! after parsing (an unknown key, a missing file) can still point at where it was written.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// One node and the line it starts on (0 when the parser could not tell).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: u64,
    pub value: NodeValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Null,
    Text(String),
    /// A boolean or a number: kept only to say what was found instead of text.
    Scalar(&'static str),
    List(Vec<Node>),
    /// Entries in file order.
    Map(Vec<(Node, Node)>),
}

impl NodeValue {
    /// What this is, for "expected a list, found a number".
    pub fn kind(&self) -> &'static str {
        match self {
            NodeValue::Null => "nothing",
            NodeValue::Text(_) => "text",
            NodeValue::Scalar(kind) => kind,
            NodeValue::List(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<NodeValue>::deserialize(deserializer)?;
        Ok(Node {
            line: spanned.referenced.line(),
            value: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<NodeValue, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Scalar("a number"))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::Text(text.to_string()))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<NodeValue, E> {
        Ok(NodeValue::Text(text))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeValue::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(NodeValue::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_knows_its_line() {
        let text = "release: web\nenvironments:\n  dev: { namespace: d, values: [a.yaml] }\n";
        let node: Node = crate::yaml::from_str(text).unwrap();
        let NodeValue::Map(entries) = node.value else {
            panic!("a map")
        };
        assert_eq!(entries[0].0.value, NodeValue::Text("release".into()));
        assert_eq!(entries[1].0.line, 2);
        let NodeValue::Map(environments) = &entries[1].1.value else {
            panic!("a map")
        };
        assert_eq!(environments[0].0.line, 3);
        let NodeValue::Map(dev) = &environments[0].1.value else {
            panic!("a map")
        };
        assert_eq!(dev[1].1.line, 3);
        assert!(matches!(&dev[1].1.value, NodeValue::List(items) if items.len() == 1));
    }
}
